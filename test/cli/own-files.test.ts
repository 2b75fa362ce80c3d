// Converted files answer exactly as their sources (architecture, eps, labels and preprocessing travel in the
// metadata), and the training checkpoints `convnext train` writes are read like any checkpoint, EMA included.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpointFile, saveSafetensors } from "../../src/checkpoint/load-node.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { initParams } from "../../src/models/init.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { saveTrainCheckpoint } from "../../src/train/checkpoint-node.ts";
import { Rng } from "../../src/train/rng.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { readTensors, tempDir } from "../helpers.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-own-");
const bundled = join(REPO_ROOT, "assets", "models", "fashion-mnist", "model.safetensors");
const examples = join(REPO_ROOT, "assets", "examples");

function ok(...args: string[]) {
  const r = convnext(...args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r;
}

function metadataOf(path: string): Record<string, string> {
  return parseSafetensors(new Uint8Array(readFileSync(path)), path).metadata;
}

/** Every output of `run` on `input`, per weights file, as raw bytes per tensor. */
function runOutputs(weights: string, input: string, ...extra: string[]): Map<string, Buffer> {
  const out = join(tmp, `run-${Math.random().toString(36).slice(2)}.safetensors`);
  ok("run", "--weights", weights, "--input", input, "--output", out, "--threads", "1", ...extra);
  return new Map(
    [...readTensors(out)].map(([k, t]) => [
      k,
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ]),
  );
}

function assertSameOutputs(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), what);
  for (const [k, bytes] of a) assert.ok(bytes.equals(b.get(k)!), `${what}: ${k} differs`);
}

const classifyJson = (...args: string[]) => ok("classify", examples, "--json", "--top", "3", ...args).stdout;

// A grey 32×32 batch for the Fashion-MNIST model.
const greyInput = join(tmp, "grey.safetensors");
const rng = new Rng(3);
await saveSafetensors(
  greyInput,
  new Map([
    [
      "x",
      float32(
        [2, 1, 32, 32],
        Float32Array.from({ length: 2048 }, () => rng.normal()),
      ),
    ],
  ]),
);

test("the converted bundled model answers exactly as the original: logits, labels, preprocessing", () => {
  const converted = join(tmp, "bundled-converted.safetensors");
  ok("convert", bundled, "--output", converted);
  assertSameOutputs(runOutputs(bundled, greyInput), runOutputs(converted, greyInput), "bundled");
  const original = classifyJson();
  assert.equal(classifyJson("--weights", converted), original);
  // Each example is named after its class: the original gets all six right, and so must the copy.
  const letters = (s: string) => s.toLowerCase().replace(/[^a-z]/g, "");
  const right = original
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { file: string; top: { label: string }[] })
    .filter((r) => letters(r.top[0].label) === letters(r.file.split("/").at(-1)!.replace(".png", "")));
  assert.equal(right.length, 6);
});

test("a converted HF checkpoint keeps its head LayerNorm eps 1e-12, and a warning says timm cannot", () => {
  const src = fixture("models", "hf-eps", "hf");
  const input = fixture("models", "hf-eps", "expected.safetensors");
  const converted = join(tmp, "hf-eps.safetensors");
  const r = ok("convert", src, "--output", converted);
  const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /head LayerNorm eps 1e-12/);
  assert.equal(JSON.parse(metadataOf(converted).config).headNormEps, 1e-12);
  assertSameOutputs(runOutputs(src, input), runOutputs(converted, input), "hf-eps");
  // Official .pth, no metadata at all: still the same answers, and no warning (timm's defaults hold).
  const official = fixture("models", "v1-small", "official.pth");
  const fromPth = join(tmp, "official.safetensors");
  assert.doesNotMatch(ok("convert", official, "--output", fromPth).stderr, /warning/);
  const smallInput = fixture("models", "v1-small", "expected.safetensors");
  assertSameOutputs(runOutputs(official, smallInput), runOutputs(fromPth, smallInput), "official");
});

test("metadata that disagrees with the weights, or an eps ≤ 0, is one line naming the file", async () => {
  const ckpt = await loadCheckpointFile(bundled);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...ckpt.config, depths: [2, 2, 2, 2] }, /depths \[2,2,2,2\] disagrees with the weights/],
    [{ ...ckpt.config, headNormEps: -1 }, /'headNormEps' must be a number > 0/],
  ];
  for (const [config, pattern] of cases) {
    const file = join(tmp, "bad-config.safetensors");
    await saveSafetensors(file, ckpt.tensors, { ...ckpt.metadata, config: JSON.stringify(config) });
    const r = convnext("inspect", file);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, new RegExp(`${file}: metadata 'config'.*${pattern.source}`));
  }
});

// A training checkpoint as `convnext train` writes it: parameters fresh from init, their average the bundled
// weights (so --use-ema is told apart by its answers), labels and preprocessing in the metadata.
const source = await loadCheckpointFile(bundled);
const initRng = new Rng(7);
const params = initParams(source.config, () => initRng.normal());
const trainCheckpoint = join(tmp, "checkpoint.safetensors");
const withoutEma = join(tmp, "checkpoint-no-ema.safetensors");
const plainParams = join(tmp, "params.safetensors");
for (const [file, ema] of [
  [
    trainCheckpoint,
    { decay: 0.99, updates: 5, params: Object.fromEntries([...source.tensors].map(([k, t]) => [k, t.data])) },
  ],
  [withoutEma, null],
] as const) {
  await saveTrainCheckpoint(file, {
    state: {
      step: 5,
      epoch: 1,
      batch: 0,
      params,
      optimizer: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05, params: {} },
      ema,
    },
    config: source.config,
    train: { epochs: 2, seed: 0 } as TrainConfig,
    run: {},
    extra: { labels: source.metadata.labels, preprocess: source.metadata.preprocess },
  });
}
const plainMeta = { ...source.metadata };
await saveSafetensors(plainParams, params as Map<string, HostTensor>, plainMeta);

test("a training checkpoint classifies with its parameters, and with --use-ema with their average", () => {
  assert.equal(classifyJson("--weights", trainCheckpoint, "--use-ema"), classifyJson());
  assert.equal(classifyJson("--weights", trainCheckpoint), classifyJson("--weights", plainParams));
  assertSameOutputs(
    runOutputs(trainCheckpoint, greyInput, "--use-ema"),
    runOutputs(bundled, greyInput),
    "run --use-ema",
  );
  const embedded = join(tmp, "ema-embed.safetensors");
  ok("embed", examples, "--weights", trainCheckpoint, "--use-ema", "--output", embedded);
  const reference = join(tmp, "bundled-embed.safetensors");
  ok("embed", examples, "--output", reference);
  assert.ok(
    readTensors(embedded)
      .get("pre_logits")!
      .data.every((v, i) => v === readTensors(reference).get("pre_logits")!.data[i]),
  );
});

test("inspect, convert and export read training checkpoints, with and without --use-ema", async () => {
  const text = ok("inspect", trainCheckpoint).stdout;
  assert.match(text, /training checkpoint \(model weights\)/);
  const report = JSON.parse(ok("inspect", trainCheckpoint, "--use-ema", "--json").stdout);
  assert.equal(report.kind, "training checkpoint");
  assert.equal(report.weights, "ema 0.99");
  assert.equal(report.params, 2_119_658);

  const converted = join(tmp, "ema-converted.safetensors");
  ok("convert", trainCheckpoint, "--use-ema", "--output", converted);
  const meta = metadataOf(converted);
  assert.equal(meta.weights, "ema 0.99");
  for (const key of ["checkpoint", "optimizer", "step", "train_config"])
    assert.equal(meta[key], undefined, key);
  assert.equal(classifyJson("--weights", converted), classifyJson());
  // The converted average says what it is, so --use-ema on it is the same file; raw parameters refuse it.
  assert.equal(classifyJson("--weights", converted, "--use-ema"), classifyJson());
  const convertedParams = join(tmp, "params-converted.safetensors");
  ok("convert", trainCheckpoint, "--output", convertedParams);
  const refused = convnext("classify", examples, "--weights", convertedParams, "--use-ema");
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr.trim(),
    /^convnext: .*params-converted\.safetensors: holds the trained parameters/,
  );

  const onnx = join(tmp, "ema.onnx");
  ok("export", trainCheckpoint, "--use-ema", "--output", onnx);
  const session = await createSession(new Uint8Array(readFileSync(onnx)), { threads: 1 });
  const x = readTensors(greyInput).get("x")!;
  const logits = (await session.run({ x })).logits;
  await session.release();
  const reference = runOutputs(bundled, greyInput).get("logits")!;
  assert.ok(Buffer.from(logits.data.buffer as ArrayBuffer, 0, reference.length).equals(reference));
});

test("--use-ema on a run without EMA is one line naming the file", () => {
  for (const args of [
    ["classify", examples, "--weights", withoutEma, "--use-ema"],
    ["inspect", withoutEma, "--use-ema"],
  ]) {
    const r = convnext(...args);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /checkpoint-no-ema\.safetensors: no EMA weights in this training checkpoint/);
  }
  assert.ok(existsSync(withoutEma));
});

test("the files of a real `convnext train` run classify and evaluate, with and without --use-ema", () => {
  const data = join(tmp, "data");
  for (const [cls, file] of [
    ["Coat", "coat.png"],
    ["Trouser", "trouser.png"],
  ]) {
    mkdirSync(join(data, cls), { recursive: true });
    for (let i = 0; i < 8; i++) copyFileSync(join(examples, file), join(data, cls, `${i}-${file}`));
  }
  const run = join(tmp, "train-run");
  const tiny = JSON.stringify({ dims: [8, 16, 24, 32], depths: [1, 1, 1, 1], patchSize: 2, kernelSize: 3 });
  ok(
    "train",
    ...["--data", data, "--config", tiny, "--resolution", "32", "--batch", "4", "--epochs", "1"],
    ...["--ema-decay", "0.5", "--threads", "1", "--workers", "0", "--out", run],
  );
  const checkpoint = join(run, "checkpoint.safetensors");
  const shipped = join(run, "model.safetensors"); // the EMA, as its metadata says
  const probs = (...args: string[]) =>
    ok("classify", join(data, "Coat"), "--json", "--top", "2", ...args).stdout;
  const ema = probs("--weights", checkpoint, "--use-ema");
  assert.equal(ema, probs("--weights", shipped));
  assert.equal(ema, probs("--weights", shipped, "--use-ema"));
  assert.notEqual(probs("--weights", checkpoint), ema);
  for (const extra of [[], ["--use-ema"]]) {
    const r = JSON.parse(ok("eval", "--data", data, "--weights", checkpoint, "--json", ...extra).stdout);
    assert.equal(r.n, 16);
  }
});
