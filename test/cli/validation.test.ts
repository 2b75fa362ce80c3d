// Inputs are checked before any onnxruntime session runs, failures are one stderr line naming the file (no
// onnxruntime log line), and a command that fails leaves no output behind.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { saveSafetensors } from "../../src/checkpoint/load-node.ts";
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
  // An even depthwise kernel: the residual no longer lines up.
  const even = join(tmp, "even-kernel.safetensors");
  const evenCfg = tinyGrayConvNeXt({ inChans: 3, numClasses: 3, kernelSize: 4 });
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
