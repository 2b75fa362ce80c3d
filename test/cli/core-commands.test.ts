// The core commands end to end: info, run, convert, export, inspect, train-step, and their errors.
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { saveSafetensors } from "../../src/checkpoint/load-node.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { maxAbs, maxAbsDiff, readTensors, tempDir } from "../helpers.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-cli-");

test("info --json gives exact params and integer MACs", () => {
  const r = convnext("info", "convnext_tiny", "--json");
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.params, 28_589_128);
  assert.equal(info.macs, 4_455_531_264);
  assert.ok(Number.isInteger(info.macs));
  assert.equal(info.gmacs, 4.4555);
  assert.deepEqual(
    info.stages.map((s: { shape: number[] }) => s.shape),
    [
      [1, 96, 56, 56],
      [1, 192, 28, 28],
      [1, 384, 14, 14],
      [1, 768, 7, 7],
    ],
  );
  const r384 = JSON.parse(convnext("info", "convnext_tiny", "--resolution", "384", "--json").stdout);
  assert.equal(r384.macs, 13_092_317_184);
});

test("info: --num-classes 0 counts the model without its classifier; a resolution below the stride is refused", () => {
  const headless = JSON.parse(convnext("info", "convnext_tiny", "--json", "--num-classes", "0").stdout);
  // 28,589,128 less head.fc (768 × 1000 + 1000); the MACs lose the classifier's 768,000.
  assert.equal(headless.params, 27_820_128);
  assert.equal(headless.macs, 4_455_531_264 - 768_000);
  for (const model of ["convnext_atto", "convnextv2_atto"]) {
    const r = convnext("info", model, "--json", "--resolution", "31");
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), "convnext: resolution 31 is smaller than the model's total stride 32");
  }
});

test("run writes every output of an official .pth checkpoint within tolerance", () => {
  const out = join(tmp, "out.safetensors");
  const input = fixture("models", "v1-small", "expected.safetensors");
  const r = convnext(
    "run",
    "--weights",
    fixture("models", "v1-small", "official.pth"),
    "--input",
    input,
    "--output",
    out,
    "--threads",
    "1",
  );
  assert.equal(r.code, 0, r.stderr);
  const got = readTensors(out);
  const expected = readTensors(input);
  for (const name of ["logits", "pre_logits", "stem", "stage0", "stage1", "stage2", "stage3"]) {
    const tol = name === "logits" || name === "pre_logits" ? 1e-5 : 2e-5;
    assert.ok(maxAbsDiff(got.get(name)!, expected.get(name)!) <= tol, name);
  }
});

test("convert maps torchvision names to timm's: same keys, shapes and values as timm.safetensors", () => {
  const out = join(tmp, "converted.safetensors");
  const r = convnext("convert", fixture("models", "v1-small", "torchvision.pth"), "--output", out);
  assert.equal(r.code, 0, r.stderr);
  const got = readTensors(out);
  const timm = readTensors(fixture("models", "v1-small", "timm.safetensors"));
  assert.deepEqual([...got.keys()].sort(), [...timm.keys()].sort());
  for (const [k, t] of timm) assert.equal(maxAbsDiff(got.get(k)!, t), 0, k);
});

test("export writes an ONNX file that onnxruntime runs to the reference logits", async () => {
  const out = join(tmp, "model.onnx");
  const r = convnext(
    "export",
    fixture("models", "v2-small", "official.pth"),
    "--output",
    out,
    "--outputs",
    "logits,stage3",
  );
  assert.equal(r.code, 0, r.stderr);
  const expected = readTensors(fixture("models", "v2-small", "expected.safetensors"));
  const session = await createSession(new Uint8Array(readFileSync(out)));
  const y = await session.run({ x: expected.get("x")! });
  assert.ok(maxAbsDiff(y.logits, expected.get("logits")!) <= 1e-5);
  assert.ok(maxAbsDiff(y.stage3, expected.get("stage3")!) <= 2e-5);
  await session.release();
  const random = convnext("export", "convnextv2_atto", "--output", join(tmp, "atto.onnx"));
  assert.equal(random.code, 0, random.stderr);
  const mismatch = convnext(
    "export",
    "convnextv2_atto",
    "--weights",
    fixture("models", "v2-small", "hf"),
    "--output",
    join(tmp, "x.onnx"),
  );
  assert.notEqual(mismatch.code, 0);
  assert.match(mismatch.stderr, /: stem\.0\.weight expected \[40, 3, 4, 4\], got \[16, 3, 4, 4\]/);
});

test("inspect names the convention and architecture", () => {
  const r = convnext("inspect", fixture("models", "v1-small", "torchvision.pth"), "--json");
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.convention, "torchvision");
  assert.equal(info.tensors, readTensors(fixture("models", "v1-small", "timm.safetensors")).size);
  assert.deepEqual(info.architecture.dims, [16, 32, 48, 64]);
});

test("train-step: loss, every gradient and parameters after 2 AdamW steps match PyTorch", () => {
  const out = join(tmp, "step.safetensors");
  const r = convnext(
    "train-step",
    "--weights",
    fixture("grad", "params_init.safetensors"),
    "--batch",
    fixture("grad", "batch.safetensors"),
    "--smoothing",
    "0.1",
    "--lr",
    "1e-3",
    "--weight-decay",
    "0.05",
    "--steps",
    "2",
    "--output",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const got = readTensors(out);
  const forward = readTensors(fixture("grad", "forward_f32.safetensors"));
  assert.ok(
    Math.abs(
      (got.get("loss")!.data as Float32Array)[0] - (forward.get("loss_hard_ls")!.data as Float32Array)[0],
    ) < 1e-6,
  );
  for (const [name, g] of readTensors(fixture("grad", "grads_hard_ls_f32.safetensors"))) {
    assert.ok(maxAbsDiff(got.get(`grad.${name}`)!, g) <= Math.max(1e-5, 1e-4 * maxAbs(g)), name);
  }
  // Step 2 params: Adam moves tiny-gradient entries by ~lr·sign(g), so compare within 2·lr where |g| is tiny.
  for (const [name, p] of readTensors(fixture("grad", "adamw_step2_f32.safetensors"))) {
    assert.ok(maxAbsDiff(got.get(`param.${name}`)!, p) <= 2e-5, name);
  }
});

test("bad input: one-line errors, non-zero exit, nothing written", () => {
  const out = join(tmp, "never.safetensors");
  const missing = convnext("run", "--weights", join(tmp, "nope.pth"), "--input", "x", "--output", out);
  assert.notEqual(missing.code, 0);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  assert.match(missing.stderr, /nope\.pth/);
  const junk = join(tmp, "junk.safetensors");
  writeFileSync(junk, "not a tensor file at all");
  const bad = convnext("run", "--weights", junk, "--input", junk, "--output", out);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /junk\.safetensors/);
  assert.ok(!existsSync(out));
  assert.ok(!readdirSync(tmp).some((f) => f.includes("never")));
  const unknown = convnext("info", "convnext_gigantic");
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown model 'convnext_gigantic'/);
});

test("train-step takes any checkpoint convention and writes timm names", () => {
  const fromOfficial = join(tmp, "step-official.safetensors");
  const fromTimm = join(tmp, "step-timm.safetensors");
  const batch = fixture("grad", "batch.safetensors");
  for (const [weights, out] of [
    [fixture("models", "v1-small", "official.pth"), fromOfficial],
    [fixture("models", "v1-small", "timm.safetensors"), fromTimm],
  ]) {
    const r = convnext(
      "train-step",
      "--weights",
      weights,
      "--batch",
      batch,
      "--smoothing",
      "0.1",
      "--output",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
  }
  const a = readTensors(fromOfficial);
  const b = readTensors(fromTimm);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  assert.ok(a.has("param.stages.0.blocks.0.mlp.fc1.weight"));
  // The official checkpoint maps onto timm's names bit for bit, so the steps are identical.
  for (const [k, t] of b) assert.equal(maxAbsDiff(a.get(k)!, t), 0, k);
});

test("train-step refuses weights that do not fit their architecture and unusable batches, in one line", async () => {
  const params = readTensors(fixture("grad", "params_init.safetensors"));
  const batch = readTensors(fixture("grad", "batch.safetensors"));
  const write = async (name: string, tensors: Map<string, HostTensor>) => {
    const path = join(tmp, name);
    await saveSafetensors(path, tensors);
    return path;
  };
  const without = (key: string) => new Map([...params].filter(([k]) => k !== key));
  const x = batch.get("x")!;
  const nanX = float32(x.dims, Float32Array.from(x.data as Float32Array));
  nanX.data[7] = Number.NaN;
  const cases: [Record<string, string>, RegExp][] = [
    // Without the first block's gamma the architecture reads as "no layer scale": the other gammas are extra.
    [
      { "--weights": await write("no-gamma.safetensors", without("stages.0.blocks.0.gamma")) },
      /no-gamma\.safetensors: checkpoint does not fit the model \(3 unexpected\): unexpected stages\.1\.blocks\.0\.gamma \[16\]/,
    ],
    [
      { "--weights": await write("extra.safetensors", new Map([...params, ["foo.weight", float32([3])]])) },
      /extra\.safetensors: checkpoint does not fit the model \(1 unexpected\): unexpected foo\.weight \[3\]/,
    ],
    [
      { "--weights": await write("headless.safetensors", without("head.fc.weight")) },
      /headless\.safetensors: checkpoint does not fit the model \(1 unexpected\): unexpected head\.fc\.bias \[10\]/,
    ],
    [
      { "--batch": await write("small-x.safetensors", new Map([...batch, ["x", float32([4, 3, 16, 16])]])) },
      /small-x\.safetensors: x 16x16 is smaller than the model's total stride 32/,
    ],
    [
      { "--batch": await write("nan-x.safetensors", new Map([...batch, ["x", nanX]])) },
      /nan-x\.safetensors: x holds NaN at flat index 7/,
    ],
    [{ "--smoothing": "1.5" }, /--smoothing must be a number in \[0, 1\), got '1\.5'/],
  ];
  const out = join(tmp, "refused.safetensors");
  for (const [changed, message] of cases) {
    const flags = {
      "--weights": fixture("grad", "params_init.safetensors"),
      "--batch": fixture("grad", "batch.safetensors"),
      "--output": out,
      ...changed,
    };
    const r = convnext("train-step", ...Object.entries(flags).flat());
    assert.notEqual(r.code, 0, JSON.stringify(changed));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!existsSync(out), "nothing written");
  }
});

test("run names the weights file whose keys do not fit the architecture read off it, in one line", async () => {
  const params = readTensors(fixture("grad", "params_init.safetensors"));
  const weights = join(tmp, "run-extra-key.safetensors");
  await saveSafetensors(weights, new Map([...params, ["foo.weight", float32([3])]]));
  const out = join(tmp, "run-refused.safetensors");
  const r = convnext(
    "run",
    "--weights",
    weights,
    "--input",
    fixture("grad", "batch.safetensors"),
    "--output",
    out,
  );
  assert.notEqual(r.code, 0);
  assert.equal(
    r.stderr.trim(),
    `convnext: ${weights}: checkpoint does not fit the model (1 unexpected): unexpected foo.weight [3]`,
  );
  assert.ok(!existsSync(out));
});

test("--outputs and --features: repeats kept once, empty entries skipped; unknown or no names are usage errors", () => {
  const onnx = join(tmp, "outputs.onnx");
  const ok = convnext(
    "export",
    "convnext_atto",
    "--outputs",
    "stage1,,logits,logits",
    "--output",
    onnx,
    "--json",
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).outputs, ["stage1", "logits"]);
  const image = join("assets", "examples", "coat.png");
  for (const [args, message] of [
    [
      ["export", "convnext_atto", "--outputs", "stage1,foo", "--output", join(tmp, "o.onnx")],
      "--outputs: unknown 'foo'",
    ],
    [["embed", image, "--features", " , "], "--features: no name given"],
    [
      [
        "export",
        "convnext_atto",
        "--outputs",
        "stage1",
        "--format",
        "transformers.js",
        "--output",
        join(tmp, "tj"),
      ],
      "--format transformers.js needs the 'logits' output (image classification)",
    ],
  ] as [string[], string][]) {
    const r = convnext(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`convnext: ${message}`) && r.stderr.split("\n").length === 2, r.stderr);
  }
});
