// The training graph's block MLP, with the norm's affine part, GELU's constants and γ folded into the weights,
// computes the same values and parameter gradients as the unfolded block (timm's order of operations).
import assert from "node:assert/strict";
import { test } from "node:test";
import { f, Graph } from "../../src/graph/graph.ts";
import { gelu, grn } from "../../src/models/convnext.ts";
import { trainingMlp } from "../../src/models/training-block.ts";
import { transpose } from "../../src/ops/types.ts";
import { maxRelDiff, valuesAndGradients } from "../ops/rewrite-helpers.ts";

// Few rows of few channels: the rows form. 1024 rows of 64 channels: the hidden tensor held transposed.
const FORMS = [
  { form: "rows", x: [2, 3, 4, 6], transposedGemms: 0 },
  { form: "transposed hidden", x: [4, 16, 16, 64], transposedGemms: 1 },
] as const;

/** How many fc1 products of the folded block's graph hold the hidden tensor transposed. */
function transposedGemmsOf(inputs: Record<string, number[]>, withGamma: boolean, v2: boolean): number {
  const g = new Graph("form");
  const names = Object.entries(inputs).map(([name, dims]) => g.input(name, "float32", dims));
  folded(g, names, withGamma, v2);
  return g.nodes.filter((n) => n.outputs[0].startsWith("linear_t")).length;
}

function unfolded(g: Graph, ins: string[], withGamma: boolean, v2: boolean): string {
  const [x, nw, nb, w1, b1, w2, b2, ...rest] = ins;
  let y = g.add("LayerNormalization", [x, nw, nb], { axis: -1, epsilon: f(1e-6) }, 3)[0];
  y = gelu(g, g.op("Add", [g.op("MatMul", [y, transpose(g, w1, [1, 0])]), b1]));
  if (v2) y = grn(g, y, rest.at(-2) as string, rest.at(-1) as string);
  y = g.op("Add", [g.op("MatMul", [y, transpose(g, w2, [1, 0])]), b2]);
  return withGamma ? g.op("Mul", [y, rest[0]]) : y;
}

function folded(g: Graph, ins: string[], withGamma: boolean, v2: boolean): string {
  const [x, normWeight, normBias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, ...rest] = ins;
  const params = { normWeight, normBias, fc1Weight, fc1Bias, fc2Weight, fc2Bias };
  const between = v2 ? (t: string) => grn(g, t, rest.at(-2) as string, rest.at(-1) as string) : undefined;
  return trainingMlp(g, x, { ...params, gamma: withGamma ? rest[0] : undefined }, 1e-6, between);
}

for (const [label, withGamma, v2] of [
  ["V1 with layer scale", true, false],
  ["V1 without layer scale", false, false],
  ["V2 (GRN, no layer scale)", false, true],
] as const) {
  for (const { form, x, transposedGemms: expected } of FORMS) {
    test(`block MLP with folded constants equals the unfolded one: ${label}, ${form}`, async () => {
      const c = x[3];
      const hidden = 4 * c;
      const inputs: Record<string, number[]> = {
        x: [...x],
        "norm.weight": [c],
        "norm.bias": [c],
        "fc1.weight": [hidden, c],
        "fc1.bias": [hidden],
        "fc2.weight": [c, hidden],
        "fc2.bias": [c],
      };
      if (withGamma) inputs.gamma = [c];
      if (v2) Object.assign(inputs, { "grn.weight": [hidden], "grn.bias": [hidden] });
      const ref = await valuesAndGradients(inputs, (g, ins) => unfolded(g, ins, withGamma, v2));
      const got = await valuesAndGradients(inputs, (g, ins) => folded(g, ins, withGamma, v2));
      // GRN needs the hidden tensor's rows, so V2 keeps the rows form.
      assert.equal(transposedGemmsOf(inputs, withGamma, v2), v2 ? 0 : expected);
      for (const name of ["y", ...Object.keys(inputs).map((k) => `grad.${k}`)]) {
        const rel = maxRelDiff(got.out[name], ref.out[name]);
        assert.ok(rel < 2e-5, `${name}: max relative difference ${rel}`);
      }
    });
  }
}
