// Depthwise convs of a training graph on onnxruntime's NCHWc kernels: same values and gradients as the Conv.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { Graph } from "../../src/graph/graph.ts";
import { depthwiseConvsAsNchwc, NCHWC_DOMAIN } from "../../src/ops/depthwise-nchwc.ts";
import { nchwcBlockSize, nchwcBlockWorks } from "../../src/train/nchwc-node.ts";
import { maxRelDiff, valuesAndGradients } from "./rewrite-helpers.ts";

let block: number;

before(async () => {
  const b = await nchwcBlockSize();
  assert.ok(b, "onnxruntime reports no NCHWc block on this machine");
  block = b;
});

const depthwise = (g: Graph, x: string, w: string, b: string | undefined, k: number) =>
  g.op("Conv", b ? [x, w, b] : [x, w], {
    kernel_shape: [k, k],
    pads: Array(4).fill((k - 1) / 2),
    group: g.shape(x)[1],
  });

for (const [dims, k, bias] of [
  [[2, 20, 6, 5], 7, true], // channels not a whole number of blocks, kernel wider than the map
  [[3, 32, 9, 9], 3, true],
  [[2, 16, 8, 8], 5, false],
] as [number[], number, boolean][]) {
  test(`depthwise ${k}x${k} on [${dims}]${bias ? "" : " without bias"} on NCHWc kernels equals the Conv, values and gradients`, async () => {
    const inputs = { x: dims, w: [dims[1], 1, k, k], ...(bias ? { b: [dims[1]] } : {}) };
    const build = (g: Graph, [x, w, b]: string[]) => depthwise(g, x, w, b, k);
    const conv = await valuesAndGradients(inputs, build);
    const nchwc = await valuesAndGradients(inputs, build, (g) => depthwiseConvsAsNchwc(g, block), {
      afterGradients: true,
    });
    // The forward conv and the input gradient's conv (the weight gradient has its own form).
    assert.equal(nchwc.rewritten, 2);
    for (const name of ["y", "grad.x", "grad.w", ...(bias ? ["grad.b"] : [])]) {
      const rel = maxRelDiff(nchwc.out[name], conv.out[name]);
      assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
    }
  });
}

test("reorders read and write channels-last tensors directly: same values and gradients, those Transposes gone", async () => {
  // [N, H, W, C] in and out, as between the blocks of a channels-last residual stream.
  const inputs = { t: [2, 7, 6, 24], w: [24, 1, 3, 3] };
  const build = (g: Graph, [t, w]: string[]) => {
    const x = g.op("Transpose", [t], { perm: [0, 3, 1, 2] });
    return g.op("Transpose", [depthwise(g, x, w, undefined, 3)], { perm: [0, 2, 3, 1] });
  };
  const conv = await valuesAndGradients(inputs, build);
  const nchwc = await valuesAndGradients(inputs, build, (g) => depthwiseConvsAsNchwc(g, block), {
    afterGradients: true,
  });
  for (const name of ["y", "grad.t", "grad.w"]) {
    const rel = maxRelDiff(nchwc.out[name], conv.out[name]);
    assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
  }
  const g = new Graph("fused");
  build(g, [g.input("t", "float32", [2, 7, 6, 24]), g.input("w", "float32", [24, 1, 3, 3])]);
  assert.equal(depthwiseConvsAsNchwc(g, block), 1);
  // Only the filter's reorder is left as a Transpose.
  assert.deepEqual(
    g.nodes.map((n) => n.op),
    ["Reshape", "Pad", "Reshape", "Transpose", "Reshape", "ReorderInput", "Conv", "ReorderOutput"].filter(
      (op) => op !== "Pad" || 24 % block !== 0,
    ),
  );
  for (const op of ["ReorderInput", "ReorderOutput"]) {
    const reorder = g.nodes.find((n) => n.op === op)!;
    assert.equal(reorder.domain, NCHWC_DOMAIN);
    assert.equal(reorder.attrs.channels_last, 1, op);
  }
});

test("a Transpose the ReorderInput bypasses stays while something else reads it", () => {
  const g = new Graph("shared");
  const t = g.input("t", "float32", [1, 5, 5, 8]);
  const x = g.op("Transpose", [t], { perm: [0, 3, 1, 2] });
  depthwise(g, x, g.input("w", "float32", [8, 1, 3, 3]), undefined, 3);
  g.op("Relu", [x]);
  assert.equal(depthwiseConvsAsNchwc(g, block), 1);
  assert.ok(g.nodes.some((n) => n.op === "Transpose" && n.outputs[0] === x));
  assert.deepEqual(g.nodes.find((n) => n.op === "ReorderInput")?.inputs, [t]);
});

test("only stride-1 same-padded depthwise convs with a multiple of 4 channels are rewritten", () => {
  const g = new Graph("dw");
  const x = g.input("x", "float32", [1, 8, 8, 8]);
  const odd = g.input("odd", "float32", [1, 6, 8, 8]);
  const w = g.input("w", "float32", [8, 1, 3, 3]);
  const w6 = g.input("w6", "float32", [6, 1, 3, 3]);
  const full = g.input("full", "float32", [8, 8, 3, 3]);
  depthwise(g, x, w, undefined, 3);
  depthwise(g, odd, w6, undefined, 3); // ReorderInput takes multiples of 4 channels only
  g.op("Conv", [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 8, strides: [2, 2] });
  g.op("Conv", [x, full], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.op("Conv", [x, w], { kernel_shape: [3, 3], group: 8 }); // no padding: output shrinks
  assert.equal(depthwiseConvsAsNchwc(g, block), 1);
  assert.equal(g.nodes.filter((n) => n.op === "Conv" && !n.domain).length, 4);
});

test("a block size that is not this machine's is refused by the probe's check, so plain Conv is kept", async () => {
  assert.equal(await nchwcBlockWorks(block), true);
  assert.equal(await nchwcBlockWorks(block * 2), false);
});
