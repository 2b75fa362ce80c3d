// The depthwise weight gradient by kernel rows (batched MatMuls), with the shifted rows sliced or gathered,
// against the direct grouped-Conv form.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { weightGradByConv } from "../../src/ops/conv.ts";
import {
  depthwiseWeightGradByRows,
  GATHER_MAX_VALUES,
  GATHER_MIN_WIDTH,
} from "../../src/ops/depthwise-weight-grad.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { Rng } from "../../src/train/rng.ts";
import { maxRelDiff, normalTensor } from "./rewrite-helpers.ts";

async function bothForms(dims: number[], k: number) {
  const [n, c, h, w] = dims;
  const g = new Graph("dw");
  const x = g.input("x", "float32", dims);
  const weight = g.input("w", "float32", [c, 1, k, k]);
  const dy = g.input("dy", "float32", dims);
  const r = (k - 1) / 2;
  g.op("Conv", [x, weight], { pads: [r, r, r, r], group: c });
  const conv = g.nodes[g.nodes.length - 1];
  g.output(g.op("Identity", [depthwiseWeightGradByRows(g, x, dy, k, "slices")], {}, "sliced"));
  g.output(g.op("Identity", [depthwiseWeightGradByRows(g, x, dy, k, "gather")], {}, "gathered"));
  g.output(g.op("Identity", [weightGradByConv(g, conv, dy)], {}, "direct"));
  const rng = new Rng(5);
  const draw = (d: number[]) => normalTensor(d, rng);
  const session = await createSession(toOnnxBytes(g));
  const out = await session.run({ x: draw([n, c, h, w]), dy: draw([n, c, h, w]), w: draw([c, 1, k, k]) });
  await session.release();
  return out;
}

for (const [dims, k] of [
  [[3, 4, 9, 9], 3],
  [[2, 5, 6, 11], 7], // non-square map
  [[2, 3, 4, 5], 7], // kernel larger than the map
] as [number[], number][]) {
  test(`depthwise ${k}x${k} weight gradient by kernel rows equals the grouped Conv on [${dims}]`, async () => {
    const out = await bothForms(dims, k);
    for (const form of ["sliced", "gathered"]) {
      assert.deepEqual(out[form].dims, [dims[1], 1, k, k]);
      const rel = maxRelDiff(out[form], out.direct);
      assert.ok(rel < 1e-5, `${form}: max relative difference ${rel}`);
    }
    // The same products summed in the same order: the two forms agree to the bit.
    assert.deepEqual(out.gathered.data, out.sliced.data);
  });
}

test(`the shifted rows are gathered from width ${GATHER_MIN_WIDTH} on while k copies fit, sliced otherwise`, () => {
  const opsFor = (dims: number[]) => {
    const g = new Graph("dw");
    depthwiseWeightGradByRows(g, g.input("x", "float32", dims), g.input("dy", "float32", dims), 3);
    return new Set(g.nodes.map((n) => n.op));
  };
  const w = GATHER_MIN_WIDTH;
  const formOf = (ops: Set<string>) =>
    (ops.has("Gather") ? "gather" : "") + (ops.has("Slice") ? "slices" : "");
  assert.equal(formOf(opsFor([1, 2, 4, w - 1])), "slices");
  assert.equal(formOf(opsFor([1, 2, 4, w])), "gather");
  const channelsAtCap = Math.floor(GATHER_MAX_VALUES / (3 * 4 * w));
  assert.equal(formOf(opsFor([1, channelsAtCap, 4, w])), "gather");
  assert.equal(formOf(opsFor([1, channelsAtCap + 1, 4, w])), "slices");
});
