// Small depthwise convs rewritten as a batched MatMul (training graphs): same values and gradients as the Conv.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkGradient } from "../../src/autodiff/check.ts";
import { Graph } from "../../src/graph/graph.ts";
import { depthwiseConvsAsMatMul } from "../../src/ops/depthwise-matmul.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { maxRelDiff, valuesAndGradients } from "./rewrite-helpers.ts";

const depthwise = (g: Graph, x: string, w: string, b: string, k: number, strides = [1, 1]) =>
  g.op("Conv", [x, w, b], {
    kernel_shape: [k, k],
    pads: Array(4).fill((k - 1) / 2),
    group: g.shape(x)[1],
    strides,
  });

const build =
  (k: number) =>
  (g: Graph, [x, w, b]: string[]) =>
    depthwise(g, x, w, b, k);
const inputs = (dims: number[], k: number) => ({ x: dims, w: [dims[1], 1, k, k], b: [dims[1]] });

for (const [dims, k] of [
  [[2, 5, 4, 4], 3],
  [[3, 6, 3, 5], 7], // kernel wider than the map, non-square map
  [[2, 4, 8, 8], 7],
] as [number[], number][]) {
  test(`dense depthwise ${k}x${k} on [${dims}] equals the Conv, values and gradients`, async () => {
    const conv = await valuesAndGradients(inputs(dims, k), build(k));
    const dense = await valuesAndGradients(inputs(dims, k), build(k), (g) => depthwiseConvsAsMatMul(g, 1e9));
    assert.equal(dense.rewritten, 1);
    for (const name of ["y", "grad.x", "grad.w", "grad.b"]) {
      const rel = maxRelDiff(dense.out[name], conv.out[name]);
      assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
    }
  });
}

test("dense depthwise gradient matches finite differences", async () => {
  const r = await checkGradient(
    {
      inputs: [
        { name: "x", dims: [2, 3, 4, 3] },
        { name: "w", dims: [3, 1, 3, 3] },
        { name: "b", dims: [3] },
      ],
      build: (g, [x, w, b]) => {
        const y = depthwise(g, x, w, b, 3);
        assert.equal(depthwiseConvsAsMatMul(g), 1);
        return y;
      },
    },
    createSession,
  );
  assert.ok(r.relError < 1e-3, JSON.stringify(r));
});

test("only stride-1 same-padded depthwise convs on maps within the pixels-per-tap bound are rewritten", () => {
  const g = new Graph("dw");
  const small = g.input("small", "float32", [1, 4, 8, 8]);
  const large = g.input("large", "float32", [1, 4, 16, 16]);
  const w = g.input("w", "float32", [4, 1, 3, 3]);
  const b = g.input("b", "float32", [4]);
  const dense = g.input("dense", "float32", [4, 4, 3, 3]);
  depthwise(g, small, w, b, 3);
  depthwise(g, large, w, b, 3);
  depthwise(g, small, w, b, 3, [2, 2]);
  g.op("Conv", [small, dense], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.op("Conv", [small, w], { kernel_shape: [3, 3], group: 4 }); // no padding: output shrinks
  assert.equal(depthwiseConvsAsMatMul(g, 64 / 9), 1);
  assert.equal(g.nodes.filter((n) => n.op === "Conv").length, 4);
});
