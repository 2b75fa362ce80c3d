// Inputs are checked before any onnxruntime session runs, failures are one stderr line naming the file (no
// onnxruntime log line), and a command that fails leaves no output behind.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { saveSafetensors } from "../../src/checkpoint/load-node.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { initParams } from "../../src/models/init.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { REPO_ROOT } from "../fixtures.ts";
import { tempDir } from "../helpers.ts";
import { tinyGrayConvNeXt } from "../tiny-model.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-validate-");
const out = join(tmp, "out.safetensors");

const cfg = tinyGrayConvNeXt({ inChans: 3, numClasses: 3 });
const weights = join(tmp, "tiny.safetensors");
let k = 0;
await saveSafetensors(
  weights,
  initParams(cfg, () => ((k++ % 13) - 6) / 20),
);

/** One stderr line matching `pattern`, exit 1, no escape codes, nothing written at `out`. */
function failsInOneLine(args: string[], pattern: RegExp): void {
  const r = convnext(...args);
  assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.ok(!r.stderr.includes("\u001b"), `escape codes in: ${r.stderr}`); // onnxruntime's coloured log
  assert.match(r.stderr, pattern);
  assert.ok(!existsSync(out), `${out} was written`);
}

test("train-step with an empty batch is refused before onnxruntime sees it", async () => {
  const batch = join(tmp, "empty-batch.safetensors");
  await saveSafetensors(
    batch,
    new Map<string, HostTensor>([
      ["x", float32([0, 3, 32, 32], new Float32Array(0))],
      ["y", { dtype: "int64", dims: [0], data: new BigInt64Array(0) }],
    ]),
  );
  failsInOneLine(
    ["train-step", "--weights", weights, "--batch", batch, "--output", out],
    /empty-batch\.safetensors: x holds no images \(N = 0\)/,
  );
  failsInOneLine(
    ["run", "--weights", weights, "--input", batch, "--output", out],
    /empty-batch\.safetensors: x/,
  );
});

test("a tensor of the wrong dtype or shape is named with its file", async () => {
  const ints = join(tmp, "ints.safetensors");
  await saveSafetensors(
    ints,
    new Map([["x", { dtype: "int64", dims: [1, 3, 32, 32], data: new BigInt64Array(3072) }]]),
  );
  failsInOneLine(
    ["run", "--weights", weights, "--input", ints, "--output", out],
    /ints\.safetensors: tensor 'x' is int64/,
  );
  const grey = join(tmp, "grey.safetensors");
  await saveSafetensors(grey, new Map([["x", float32([1, 1, 32, 32], new Float32Array(1024))]]));
  failsInOneLine(
    ["run", "--weights", weights, "--input", grey, "--output", out],
    /grey\.safetensors: x must be \(N, 3, H, W\)/,
  );
  const small = join(tmp, "small.safetensors");
  await saveSafetensors(small, new Map([["x", float32([1, 3, 8, 8], new Float32Array(192))]]));
  failsInOneLine(
    ["run", "--weights", weights, "--input", small, "--output", out],
    /small\.safetensors: x 8x8 is smaller than the model's total stride 16/,
  );
  const boolLabels = join(tmp, "bool-labels.safetensors");
  await saveSafetensors(
    boolLabels,
    new Map<string, HostTensor>([
      ["x", float32([1, 3, 32, 32], new Float32Array(3072))],
      ["y", { dtype: "bool", dims: [1], data: Uint8Array.of(1) }],
    ]),
  );
  failsInOneLine(
    ["train-step", "--weights", weights, "--batch", boolLabels, "--output", out],
    /bool-labels\.safetensors: tensor 'y' is bool/,
  );
});

test("weights onnxruntime cannot run give one line naming them, without onnxruntime's log", async () => {
  // An even depthwise kernel: the residual no longer lines up (a config makeConfig refuses, written by hand).
  const even = join(tmp, "even-kernel.safetensors");
  const evenCfg = { ...tinyGrayConvNeXt({ inChans: 3, numClasses: 3 }), kernelSize: 4 };
  await saveSafetensors(
    even,
    initParams(evenCfg, () => 0.1),
  );
  const x = join(tmp, "x.safetensors");
  await saveSafetensors(x, new Map([["x", float32([1, 3, 32, 32], new Float32Array(3072))]]));
  failsInOneLine(["run", "--weights", even, "--input", x, "--output", out], /even-kernel\.safetensors/);
  const batch = join(tmp, "batch.safetensors");
  await saveSafetensors(
    batch,
    new Map<string, HostTensor>([
      ["x", float32([2, 3, 32, 32], new Float32Array(6144))],
      ["y", { dtype: "int64", dims: [2], data: BigInt64Array.of(0n, 2n) }],
    ]),
  );
  failsInOneLine(
    ["train-step", "--weights", even, "--batch", batch, "--output", out],
    /even-kernel\.safetensors/,
  );
});

test("embed writes nothing when a named input fails", () => {
  const bad = join(tmp, "broken.png");
  writeFileSync(bad, "not an image");
  const good = join(tmp, "coat.png");
  copyFileSync(join(REPO_ROOT, "assets", "examples", "coat.png"), good);
  for (const file of [out, join(tmp, "out.jsonl")]) {
    const r = convnext("embed", good, bad, "--output", file);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /broken\.png/);
    assert.ok(!existsSync(file), `${file} was written`);
  }
  const alone = convnext("embed", bad, "--output", out);
  assert.equal(alone.code, 1);
  assert.equal(alone.stderr.trim().split("\n").length, 1, alone.stderr);
  assert.ok(!existsSync(out));
});

test("small files that would ask for gigabytes are refused at once, naming the file", async () => {
  const bundled = join(REPO_ROOT, "assets", "models", "fashion-mnist", "model.safetensors");
  const image = join(REPO_ROOT, "assets", "examples", "coat.png");
  const parsed = parseSafetensors(new Uint8Array(readFileSync(bundled)), bundled);
  const preprocess = { ...JSON.parse(parsed.metadata.preprocess), inputSize: 9000, resizeSize: 9000 };
  const huge = join(tmp, "input-9000.safetensors");
  await saveSafetensors(huge, parsed.tensors, { ...parsed.metadata, preprocess: JSON.stringify(preprocess) });
  failsInOneLine(
    ["classify", image, "--weights", huge],
    /input-9000\.safetensors: metadata 'preprocess' inputSize must be an integer from 1 to 2048/,
  );
  // A --config that is a device, not a file: refused, not read forever.
  const runs = tempDir("convnext-validation-runs-"); // outside --data, which a run may not write into
  const r = convnext("train", "--data", tmp, "--config", "/dev/zero", "--out", join(runs, "run-dev-zero"));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\/dev\/zero: cannot read --config: it is a device/);
  // A model of 34 G parameters, within each per-field bound.
  const big = join(tmp, "big.json");
  writeFileSync(big, JSON.stringify({ dims: [4096, 4096, 4096, 4096], depths: [64, 64, 64, 64] }));
  const m = convnext("train", "--data", tmp, "--config", big, "--out", join(runs, "run-big"));
  assert.equal(m.code, 1, m.stderr);
  assert.match(m.stderr, /about 3\.4\de\+10 parameters, over the limit of 2\.15e\+9/);
});

test("--threads beyond the machine's cores is a usage error; a file where an output folder goes is found first", () => {
  const r = convnext("classify", join(REPO_ROOT, "assets", "examples"), "--threads", "100000");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--threads must be an integer from 1 to \d+ \(this machine's cores\), got '100000'/);
  writeFileSync(join(tmp, "not-a-folder"), "mine");
  const e = convnext("export", weights, "--format", "transformers.js", "--output", join(tmp, "not-a-folder"));
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /not-a-folder: exists and is not a folder/);
});
