// Command-line conventions end to end: --version, exit code 2 for usage errors and 1 for runtime errors with one
// `convnext:` prefix, the stack only with CONVNEXT_DEBUG=1, --quiet / CONVNEXT_QUIET, `list`, and the --json
// summary line of run, convert, export, train-step and train.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { PRETRAINED } from "../../src/pretrained/registry.ts";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { readTensors, tempDir } from "../helpers.ts";
import { type CliResult, convnext, convnextWithEnv } from "./run-cli.ts";

const tmp = tempDir("convnext-conventions-");

const V1_TIMM = fixture("models", "v1-small", "timm.safetensors");
const TORCHVISION = fixture("models", "v1-small", "torchvision.pth");

/** The single stderr line of a failed command, checked for the one prefix. */
function errorOf(r: CliResult): string {
  const lines = r.stderr.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^convnext: /);
  assert.ok(!/\berror:/.test(lines[0]), lines[0]);
  return lines[0];
}

/** The one JSON line a command printed on stdout. */
function jsonOf(r: CliResult): Record<string, any> {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, r.stdout);
  return JSON.parse(lines[0]);
}

test("--version and -V print package.json's version", () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
  for (const flag of ["--version", "-V"]) {
    const r = convnext(flag);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  }
});

test("usage errors exit 2 with one 'convnext:' line", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /^convnext: unknown command 'frobnicate'/],
    [["info", "convnext_tiny", "--bogus"], /^convnext: unknown option '--bogus'/],
    [["info"], /^convnext: missing required argument 'model'/],
    [["convert", TORCHVISION], /^convnext: required option '--output <model\.safetensors>' not specified$/],
    [["info", "convnext_tiny", "--resolution"], /^convnext: option '--resolution <n>' argument missing$/],
    [
      ["info", "convnext_tiny", "--resolution", "x"],
      /^convnext: --resolution must be a positive integer, got 'x'$/,
    ],
    [["run", "--weights", V1_TIMM, "--input", "x", "--output", "y", "--threads", "0"], /--threads must be/],
  ];
  for (const [args, expected] of cases) {
    const r = convnext(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(errorOf(r), expected);
    assert.equal(r.stdout, "");
  }
  // No command at all: the help, on stderr, as a usage error.
  const bare = convnext();
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /^Usage: convnext/);
});

test("runtime errors exit 1 with one line naming the file; CONVNEXT_DEBUG=1 adds the stack", () => {
  const missing = join(tmp, "missing.safetensors");
  const args = ["convert", missing, "--output", join(tmp, "never.safetensors")];
  const r = convnextWithEnv({ CONVNEXT_DEBUG: "" }, ...args);
  assert.equal(r.code, 1);
  assert.ok(errorOf(r).includes(missing), r.stderr);
  const debug = convnextWithEnv({ CONVNEXT_DEBUG: "1" }, ...args);
  assert.equal(debug.code, 1);
  const [first, ...stack] = debug.stderr.split("\n").filter(Boolean);
  assert.equal(first, r.stderr.trim());
  assert.ok(
    stack.some((l) => /^\s+at /.test(l)),
    debug.stderr,
  );
});

test("--quiet (before or after the command) and CONVNEXT_QUIET=1 silence notices, not results", () => {
  const out = join(tmp, "quiet.safetensors");
  const loud = convnext("convert", TORCHVISION, "--output", out);
  assert.equal(loud.code, 0, loud.stderr);
  assert.match(loud.stderr, /torchvision → timm/);
  for (const r of [
    convnext("--quiet", "convert", TORCHVISION, "--output", out),
    convnext("convert", TORCHVISION, "--output", out, "-q"),
    convnextWithEnv({ CONVNEXT_QUIET: "1" }, "convert", TORCHVISION, "--output", out),
  ]) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
  }
  // Results still print, and errors still show.
  const json = convnext("--quiet", "convert", TORCHVISION, "--output", out, "--json");
  assert.equal(jsonOf(json).tensors, readTensors(out).size);
  const failed = convnext("--quiet", "convert", join(tmp, "nope.pth"), "--output", out);
  assert.equal(failed.code, 1);
  errorOf(failed);
});

test("list names every pretrained entry with source, licence and published top-1; unknown tags point to it", () => {
  const r = convnext("list", "--json");
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((x) => x.name),
    PRETRAINED.map((e) => e.name),
  );
  const byName = new Map(rows.map((x) => [x.name, x]));
  assert.deepEqual(byName.get("convnext_tiny.fb_in1k"), {
    name: "convnext_tiny.fb_in1k",
    source: "facebookresearch/ConvNeXt",
    license: "MIT",
    labels: "in1k",
    numClasses: 1000,
    inputSize: 224,
    top1: 82.1,
  });
  assert.equal(byName.get("convnextv2_huge.fcmae_ft_in22k_in1k_512").top1, 88.9);
  assert.equal(byName.get("convnextv2_atto.fcmae_ft_in1k").license, "CC-BY-NC-4.0");
  assert.equal(byName.get("convnext_base.tv_in1k").source, "torchvision");
  assert.equal(byName.get("convnext_atto.d2_in1k").source, "timm");
  assert.equal(byName.get("convnext_tiny.fb_in22k").top1, undefined);
  // Every published accuracy in the catalogue found its entry: the paper's and torchvision's 36 models.
  assert.equal(rows.filter((x) => x.top1 !== undefined).length, 36);

  const text = convnext("list");
  assert.equal(text.code, 0);
  const lines = text.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^name\s+source\s+licence\s+classes\s+input\s+top-1 %$/);
  assert.equal(lines.length, PRETRAINED.length + 1);

  const unknown = convnext("info", "convnext_tiny.no_such_tag");
  assert.equal(unknown.code, 1);
  assert.match(errorOf(unknown), /see `convnext list`\)$/);
});

test("--json: run, convert, export and train-step end with one summary line on stdout", () => {
  const input = fixture("models", "v1-small", "expected.safetensors");
  const run = jsonOf(
    convnext(
      "run",
      "--weights",
      V1_TIMM,
      "--input",
      input,
      "--output",
      join(tmp, "run.safetensors"),
      "--json",
    ),
  );
  const written = readTensors(run.output);
  assert.equal(run.batch, readTensors(input).get("x")!.dims[0]);
  for (const [name, dims] of Object.entries(run.outputs)) assert.deepEqual(written.get(name)!.dims, dims);

  const conv = jsonOf(convnext("convert", TORCHVISION, "--output", join(tmp, "c.safetensors"), "--json"));
  assert.equal(conv.convention, "torchvision");
  assert.equal(conv.tensors, readTensors(conv.output).size);

  const onnx = join(tmp, "m.onnx");
  const exp = jsonOf(convnext("export", V1_TIMM, "--output", onnx, "--outputs", "logits,stage3", "--json"));
  assert.deepEqual(exp.outputs, ["logits", "stage3"]);
  assert.equal(exp.bytes, readFileSync(onnx).length);

  const step = jsonOf(
    convnext(
      "train-step",
      ...[
        "--weights",
        fixture("grad", "params_init.safetensors"),
        "--batch",
        fixture("grad", "batch.safetensors"),
      ],
      ...["--steps", "2", "--output", join(tmp, "step.safetensors"), "--json"],
    ),
  );
  const stepFile = readTensors(step.output);
  assert.equal(step.steps, 2);
  assert.equal(step.loss, (stepFile.get("loss")!.data as Float32Array)[0]);
  assert.ok(Number.isFinite(step.lastLoss) && step.lastLoss !== step.loss);
  assert.equal(step.params, [...stepFile.keys()].filter((k) => k.startsWith("param.")).length);
});

/** Two classes of 32×32 images (a bright left or top half), `n` each, as PNG files in class folders. */
async function writeShapes(dir: string, n: number): Promise<void> {
  for (const cls of ["left", "top"]) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = new Uint8Array(32 * 32 * 3).map((_, j) => {
        const [y, x] = [Math.floor(j / 96), Math.floor((j % 96) / 3)];
        return (cls === "left" ? x < 16 : y < 16) ? 200 + i : 30;
      });
      await sharp(px, { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toFile(join(dir, cls, `${i}.png`));
    }
  }
}

test("train --json ends with one summary line naming what it wrote; --quiet leaves stderr empty", async () => {
  const data = join(tmp, "shapes");
  await writeShapes(data, 6);
  const out = join(tmp, "run");
  const r = convnext(
    "train",
    ...["--data", data, "--config", '{"dims":[8,16,24,32],"depths":[1,1,1,1],"patchSize":2,"kernelSize":3}'],
    ...["--epochs", "1", "--batch", "4", "--resolution", "32", "--threads", "1", "--workers", "0"],
    ...["--out", out, "--json", "--quiet"],
  );
  const summary = jsonOf(r);
  assert.equal(r.stderr, "");
  assert.equal(summary.out, out);
  assert.equal(summary.model, join(out, "model.safetensors"));
  assert.equal(summary.checkpoint, join(out, "checkpoint.safetensors"));
  assert.equal(summary.stopped, false);
  assert.equal(summary.step, summary.totalSteps);
  assert.ok(summary.step > 0);
  assert.ok(readTensors(summary.model).size > 0);
});
