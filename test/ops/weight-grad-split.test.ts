// Weight gradients over many rows taken as row ranges (one per session thread): same values, and only where it pays.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Graph } from "../../src/graph/graph.ts";
import { weightGradientsSplitOverRows } from "../../src/ops/weight-grad-split.ts";
import { maxRelDiff, valuesAndGradients } from "./rewrite-helpers.ts";

const linear = (g: Graph, [x, w]: string[]) => g.op("MatMul", [x, w]);
const gemm = (g: Graph, [x, w]: string[]) => g.op("Gemm", [x, w]);
type Build = typeof linear;
type Shapes = Record<string, number[]>;

for (const [form, build, inputs, parts] of [
  ["a MatMul over [N, H, W, C] rows", linear, { x: [8, 32, 32, 8], w: [8, 16] }, 2],
  ["a Gemm (patches × weight)", gemm, { x: [8192, 12], w: [12, 6] }, 2],
  ["a MatMul in four ranges", linear, { x: [16, 32, 32, 4], w: [4, 24] }, 4],
] as [string, Build, Shapes, number][]) {
  test(`the weight gradient of ${form} as ${parts} row ranges: same values and gradients`, async () => {
    const whole = await valuesAndGradients(inputs, build);
    const split = await valuesAndGradients(inputs, build, (g) => weightGradientsSplitOverRows(g, parts), {
      afterGradients: true,
    });
    assert.equal(split.rewritten, 1);
    for (const name of ["y", "grad.x", "grad.w"]) {
      const rel = maxRelDiff(split.out[name], whole.out[name]);
      assert.ok(rel < 1e-5, `${name}: max relative difference ${rel}`);
    }
  });
}

for (const [why, inputs, parts] of [
  ["few rows for a wide output (R·4 < M·N)", { x: [8, 32, 32, 64], w: [64, 1024] }, 2],
  ["parts under 4096 rows", { x: [4, 32, 32, 8], w: [8, 16] }, 2],
  ["rows that do not divide into the parts", { x: [8, 32, 32, 8], w: [8, 16] }, 3],
  ["one part (one thread)", { x: [8, 32, 32, 8], w: [8, 16] }, 1],
] as [string, Shapes, number][]) {
  test(`weight gradients stay one Gemm with ${why}`, async () => {
    const { rewritten } = await valuesAndGradients(
      inputs,
      linear,
      (g) => weightGradientsSplitOverRows(g, parts),
      { afterGradients: true },
    );
    assert.equal(rewritten, 0);
  });
}

test("a part count that is not a positive integer is refused", async () => {
  await assert.rejects(
    valuesAndGradients({ x: [8, 32, 32, 8], w: [8, 16] }, linear, (g) => weightGradientsSplitOverRows(g, 0), {
      afterGradients: true,
    }),
    /weight-gradient row parts 0/,
  );
});
