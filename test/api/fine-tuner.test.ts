// Fine-tuning on a few images through the portable FineTuner (here on onnxruntime-node; the browser suite runs
// the same code on onnxruntime-web): the loss falls, and the saved checkpoint is one the CLI classifies with.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readCheckpointChoice } from "../../src/api/checkpoint-bytes.ts";
import { FineTuner } from "../../src/api/fine-tuner.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { convnext } from "../cli/run-cli.ts";
import { REPO_ROOT } from "../fixtures.ts";

const EXAMPLES = join(REPO_ROOT, "assets", "examples");
const MODEL = join(REPO_ROOT, "assets", "models", "fashion-mnist", "model.safetensors");
// Two new classes over the six examples: things worn above the waist, and the rest.
const IMAGES: [string, number][] = [
  ["coat.png", 0],
  ["pullover.png", 0],
  ["shirt.png", 0],
  ["ankle-boot.png", 1],
  ["sandal.png", 1],
  ["trouser.png", 1],
];

async function tuner(train: "head" | "all"): Promise<FineTuner> {
  // A plain Uint8Array, as a page has: the parser's copies of a Node Buffer's slices would be views of it.
  const { checkpoint, preprocess } = readCheckpointChoice({ weights: new Uint8Array(readFileSync(MODEL)) });
  const t = new FineTuner(
    { ...checkpoint, preprocess },
    { classes: ["top", "other"], train, seed: 1 },
    (onnx) => createSession(onnx, { threads: 1 }),
  );
  const images = await Promise.all(IMAGES.map(([f]) => decodeImage(join(EXAMPLES, f))));
  t.addImages(
    images,
    IMAGES.map(([, label]) => label),
  );
  return t;
}

async function losses(t: FineTuner, steps: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push((await t.step()).loss);
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("FineTuner", () => {
  it("learns new classes with the head alone, and the CLI classifies with what it saves", async () => {
    const t = await tuner("head");
    const l = await losses(t, 12);
    await t.release();
    assert.ok(mean(l.slice(-3)) < 0.5 * mean(l.slice(0, 3)), `loss did not fall: ${l.join(", ")}`);
    const dir = mkdtempSync(join(tmpdir(), "convnext-finetune-"));
    try {
      const weights = join(dir, "tuned.safetensors");
      writeFileSync(weights, t.save());
      const r = convnext(
        "classify",
        "--weights",
        weights,
        "--json",
        "--top",
        "2",
        join(EXAMPLES, "coat.png"),
      );
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout.trim().split("\n")[0]);
      assert.deepEqual(result.top.map((p: { label: string }) => p.label).sort(), ["other", "top"]);
      assert.equal(result.top[0].label, "top");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("learns with every layer training", async () => {
    const t = await tuner("all");
    const l = await losses(t, 8);
    await t.release();
    assert.ok(mean(l.slice(-2)) < mean(l.slice(0, 2)), `loss did not fall: ${l.join(", ")}`);
  });

  it("refuses a label that is not a class", async () => {
    const t = await tuner("head");
    assert.throws(
      () => t.addImages([{ data: new Uint8Array(3), width: 1, height: 1 }], [2]),
      /not a class index/,
    );
  });
});
