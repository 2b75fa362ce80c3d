// Every case of fixtures/models/manifest.json, from every checkpoint file it lists, through our graph on
// onnxruntime, against PyTorch's outputs (tolerances from fixtures/README.md).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { FEATURE_OUTPUTS } from "../../src/models/convnext.ts";
import { ConvNeXtModel } from "../../src/node/model.ts";
import { fixture } from "../fixtures.ts";
import { maxAbs, maxAbsDiff, readTensors } from "../helpers.ts";

interface Case {
  files: { path: string }[];
  compare: string[];
}
const manifest = JSON.parse(readFileSync(fixture("models", "manifest.json"), "utf8")) as {
  cases: Record<string, Case>;
};

/** Logits and pre_logits abs 1e-5; stages abs 2e-5, or 5e-6 × max|ref| for small-valued maps (hf-eps stage3). */
function tolerance(name: string, ref: number): number {
  if (name === "logits" || name === "pre_logits") return 1e-5;
  return ref >= 1 ? 2e-5 : 5e-6 * ref;
}

/** The loadable checkpoints of a case: .safetensors/.pth files, and an HF folder as one checkpoint. */
function checkpoints(c: Case): string[] {
  const paths = c.files.map((f) => f.path);
  const direct = paths.filter(
    (p) =>
      !p.startsWith("hf/") &&
      /\.(safetensors|pth)$/.test(p) &&
      p !== "expected.safetensors" &&
      !p.startsWith("wrong"),
  );
  return paths.some((p) => p.startsWith("hf/")) ? [...direct, "hf"] : direct;
}

const models: ConvNeXtModel[] = [];
after(async () => {
  for (const m of models) await m.release();
});

for (const [name, c] of Object.entries(manifest.cases)) {
  const expected = readTensors(fixture("models", name, "expected.safetensors"));
  for (const file of checkpoints(c)) {
    test(`${name} from ${file}: every output within tolerance`, async () => {
      const model = await ConvNeXtModel.load(fixture("models", name, file), { threads: 2 });
      models.push(model);
      const out = await model.forward(expected.get("x")!, FEATURE_OUTPUTS);
      for (const key of c.compare) {
        const ref = expected.get(key)!;
        const d = maxAbsDiff(out[key], ref);
        const tol = tolerance(key, maxAbs(ref));
        assert.ok(d <= tol, `${key}: max |diff| ${d.toExponential(2)} > ${tol.toExponential(2)}`);
      }
    });
  }
}

test("hf-eps: the wrong head eps is detectably wrong (the tolerance would catch the slip)", async () => {
  const expected = readTensors(fixture("models", "hf-eps", "expected.safetensors"));
  const model = await ConvNeXtModel.load(fixture("models", "hf-eps", "hf"));
  models.push(model);
  assert.equal(model.config.headNormEps, 1e-12);
  const wrong = new ConvNeXtModel({ ...model.config, headNormEps: 1e-6 }, model.weights);
  models.push(wrong);
  const out = await wrong.forward(expected.get("x")!);
  assert.ok(maxAbsDiff(out.logits, expected.get("logits")!) > 0.1);
});

test("any input size: 100x70 floors like PyTorch and batch 3 runs", async () => {
  const model = await ConvNeXtModel.load(fixture("models", "v1-small", "timm.safetensors"));
  models.push(model);
  const x = {
    dtype: "float32" as const,
    dims: [3, 3, 100, 70],
    data: new Float32Array(3 * 3 * 100 * 70).fill(0.1),
  };
  const out = await model.forward(x, ["stem", "stage3", "logits"]);
  assert.deepEqual(out.stem.dims, [3, 16, 25, 17]);
  assert.deepEqual(out.stage3.dims, [3, 64, 3, 2]);
  assert.deepEqual(out.logits.dims, [3, 10]);
});
