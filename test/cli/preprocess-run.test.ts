// `preprocess` feeds `run`: the bundled model's examples preprocessed (one at a time and as one batch), run
// through the bundled model, give the logits whose softmax `classify` reports for the same images.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BUNDLED_MODEL_PATH } from "../../src/api/model-source-node.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { REPO_ROOT } from "../fixtures.ts";
import { readTensors, tempDir } from "../helpers.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-preprocess-run-");

const examples = join(REPO_ROOT, "assets", "examples");
const images = readdirSync(examples)
  .filter((f) => f.endsWith(".png"))
  .sort()
  .map((f) => join(examples, f));

function softmax(row: Float32Array): number[] {
  const m = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** preprocess, then run on its output: the logits, rows in image order. */
function preprocessThenRun(files: string[], name: string): HostTensor {
  const x = join(tmp, `${name}-x.safetensors`);
  const out = join(tmp, `${name}-out.safetensors`);
  const pre = convnext("preprocess", ...files, "--output", x);
  assert.equal(pre.code, 0, pre.stderr);
  const input = readTensors(x);
  assert.equal(input.get("x")!.dtype, "float32");
  assert.equal(input.get("x")!.dims.length, 4);
  assert.equal(input.get("x")!.dims[0], files.length);
  assert.equal(input.get("uint8")!.dims[0], files.length);
  const run = convnext(
    "run",
    "--weights",
    BUNDLED_MODEL_PATH,
    "--input",
    x,
    "--output",
    out,
    "--threads",
    "1",
  );
  assert.equal(run.code, 0, run.stderr);
  return readTensors(out).get("logits")!;
}

test("preprocess → run on the bundled model gives classify's probabilities, one image or a batch", (t) => {
  if (!existsSync(BUNDLED_MODEL_PATH)) return t.skip(`no bundled model at ${BUNDLED_MODEL_PATH}`);
  const batch = preprocessThenRun(images, "batch");
  const k = batch.dims[1];
  assert.deepEqual(batch.dims, [images.length, 10]);

  const c = convnext("classify", ...images, "--json", "--top", String(k), "--threads", "1");
  assert.equal(c.code, 0, c.stderr);
  const classified = c.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { file: string; top: { index: number; prob: number; label: string }[] });
  let worst = 0;
  images.forEach((file, i) => {
    const probs = softmax((batch.data as Float32Array).subarray(i * k, (i + 1) * k));
    const row = classified.find((r) => r.file === file);
    assert.ok(row, `classify printed nothing for ${file}`);
    for (const p of row.top) worst = Math.max(worst, Math.abs(p.prob - probs[p.index]));
    // The examples are named after their class: the chain must get them right, not just agree.
    assert.equal(
      row.top[0].label.toLowerCase().replace(/[^a-z]/g, ""),
      file.replace(/^.*\/|\.png$/g, "").replace(/-/g, ""),
    );
  });
  assert.ok(worst <= 1e-5, `softmax(run logits) vs classify: max difference ${worst}`);

  // One image on its own gives the same row as in the batch.
  const single = preprocessThenRun([images[1]], "single");
  const row = (batch.data as Float32Array).subarray(k, 2 * k);
  const diff = Math.max(...Array.from(single.data as Float32Array, (v, j) => Math.abs(v - row[j])));
  assert.ok(diff <= 1e-5, `single vs batch row: ${diff}`);
});

test("preprocess --json names the batch; a bad image among several fails naming it, writing nothing", () => {
  const x = join(tmp, "two.safetensors");
  const r = convnext("preprocess", images[0], images[2], "--output", x, "--json");
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.images, [images[0], images[2]]);
  assert.deepEqual(summary.shape, readTensors(x).get("x")!.dims);
  assert.equal(summary.shape[0], 2);

  const never = join(tmp, "never.safetensors");
  const bad = join(tmp, "missing.png");
  const failed = convnext("preprocess", images[0], bad, "--output", never);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr.trim(), new RegExp(`^convnext: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  assert.ok(!existsSync(never));
});
