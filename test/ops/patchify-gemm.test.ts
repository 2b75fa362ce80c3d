// Patchify convs (kernel = stride) rewritten as patches × weight Gemms: same values and gradients as the Conv.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph } from "../../src/graph/graph.ts";
import { patchifyConvsAsGemm } from "../../src/ops/patchify-gemm.ts";
import { maxRelDiff, valuesAndGradients } from "./rewrite-helpers.ts";

type Run = Awaited<ReturnType<typeof valuesAndGradients>>;

/** One conv rewritten, and every named output within 1e-5 (relative) of the Conv's. */
function assertSameOutputs(gemm: Run, conv: Run, names: string[]): void {
  assert.equal(gemm.rewritten, 1);
  for (const name of names) {
    const rel = maxRelDiff(gemm.out[name], conv.out[name]);
    assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
  }
}

for (const [x, w] of [
  [
    [2, 3, 8, 12],
    [5, 3, 4, 4],
  ], // stem-like, non-square map
  [
    [3, 4, 6, 6],
    [6, 4, 2, 2],
  ], // downsample-like
  [
    [1, 2, 6, 4],
    [3, 2, 3, 2],
  ], // non-square kernel
]) {
  test(`patchify ${w[2]}x${w[3]} on [${x}] as a Gemm equals the Conv, values and gradients`, async () => {
    const inputs = { x, w, b: [w[0]] };
    const build = (g: Graph, ins: string[]) => g.op("Conv", ins, { strides: w.slice(2) });
    const conv = await valuesAndGradients(inputs, build);
    const gemm = await valuesAndGradients(inputs, build, patchifyConvsAsGemm);
    assertSameOutputs(gemm, conv, ["y", "grad.x", "grad.w", "grad.b"]);
  });
}

test("only group-1 convs with kernel = stride, no padding and a divisible map are rewritten", () => {
  const g = new Graph("patchify");
  const x = g.input("x", "float32", [1, 4, 8, 8]);
  const odd = g.input("odd", "float32", [1, 4, 9, 8]);
  const w = g.input("w", "float32", [6, 4, 2, 2]);
  const wg = g.input("wg", "float32", [4, 1, 2, 2]);
  g.op("Conv", [x, w], { strides: [2, 2] });
  g.op("Conv", [odd, w], { strides: [2, 2] }); // 9 rows: the Conv drops the last one
  g.op("Conv", [x, w], { strides: [1, 1] });
  g.op("Conv", [x, w], { strides: [2, 2], pads: [1, 1, 1, 1] });
  g.op("Conv", [x, wg], { strides: [2, 2], group: 4 });
  assert.equal(patchifyConvsAsGemm(g), 1);
  assert.equal(g.nodes.filter((n) => n.op === "Conv").length, 4);
});

test("a patchify conv on a channels-last tensor moved to NCHW reads the channels-last tensor: same values and gradients, no NCHW transpose left", async () => {
  const inputs = { t: [2, 6, 4, 5], w: [7, 5, 2, 2], b: [7] }; // t: [N, H, W, C]
  const build = (g: Graph, [t, w, b]: string[]) =>
    g.op("Conv", [g.op("Transpose", [t], { perm: [0, 3, 1, 2] }), w, b], { strides: [2, 2] });
  const conv = await valuesAndGradients(inputs, build);
  const gemm = await valuesAndGradients(inputs, build, patchifyConvsAsGemm);
  assertSameOutputs(gemm, conv, ["y", "grad.t", "grad.w", "grad.b"]);
  const g = new Graph("bypass");
  const t = g.input("t", "float32", [2, 6, 4, 5]);
  build(g, [t, g.input("w", "float32", [7, 5, 2, 2]), g.input("b", "float32", [7])]);
  patchifyConvsAsGemm(g);
  const perms = g.nodes.filter((n) => n.op === "Transpose").map((n) => (n.attrs.perm as number[]).join(","));
  assert.ok(perms.includes("0,1,3,2,4,5"), `transposes: ${perms.join(" | ")}`);
  assert.ok(
    !g.nodes.some((n) => n.op === "Transpose" && n.inputs[0] === t && n.attrs.perm),
    "NHWC → NCHW kept",
  );
});
