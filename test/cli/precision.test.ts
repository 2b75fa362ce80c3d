// --precision int8 end to end: export writes a smaller graph that runs close to the reference; run uses it;
// an unknown precision is refused in one line; an exported .onnx keeps the precision it was exported at.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createSession } from "../../src/runtime/session-node.ts";
import { fixture } from "../fixtures.ts";
import { maxAbs, maxAbsDiff, readTensors, tempDir } from "../helpers.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-precision-");
const weights = fixture("models", "v1-atto", "timm.safetensors");
const expected = readTensors(fixture("models", "v1-atto", "expected.safetensors"));
const ref = expected.get("logits")!;

test("export --precision int8: s8 weights (file under 40% of fp32), logits within 3% of the reference", async () => {
  const paths = { fp32: join(tmp, "fp32.onnx"), int8: join(tmp, "int8.onnx") };
  for (const [p, out] of Object.entries(paths)) {
    const r = convnext("export", weights, "--precision", p, "--output", out);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(statSync(paths.int8).size < 0.4 * statSync(paths.fp32).size);
  const session = await createSession(new Uint8Array(readFileSync(paths.int8)));
  const { logits } = await session.run({ x: expected.get("x")! });
  await session.release();
  const d = maxAbsDiff(logits, ref);
  assert.ok(d <= 0.03 * maxAbs(ref) && d > 1e-5, `max |diff| ${d}`);
});

test("run --precision int8 writes int8 logits; --precision int4 is refused in one line", () => {
  const input = join(tmp, "x.safetensors");
  const out = join(tmp, "out.safetensors");
  const r = convnext(
    "run",
    "--weights",
    weights,
    "--input",
    fixture("models", "v1-atto", "expected.safetensors"),
    "--output",
    out,
    "--precision",
    "int8",
  );
  assert.equal(r.code, 0, r.stderr);
  const d = maxAbsDiff(readTensors(out).get("logits")!, ref);
  assert.ok(d <= 0.03 * maxAbs(ref) && d > 1e-5, `max |diff| ${d}`);
  const bad = convnext("run", "--weights", weights, "--input", input, "--output", out, "--precision", "int4");
  assert.equal(bad.code, 2, "a bad --precision is a usage error");
  assert.match(bad.stderr, /^convnext: .*--precision int4 is not supported \(fp32, fp16, int8\)\n$/);
});

test("an exported .onnx keeps its precision: another --precision or --use-ema is refused, the same one runs", () => {
  const onnx = join(tmp, "atto-fp32.onnx");
  assert.equal(convnext("export", weights, "--output", onnx).code, 0);
  const image = join("assets", "examples", "coat.png");
  const same = convnext("classify", image, "--weights", onnx, "--precision", "fp32", "--top", "1");
  assert.equal(same.code, 0, same.stderr);
  const other = convnext("classify", image, "--weights", onnx, "--precision", "int8");
  assert.equal(other.code, 1);
  assert.equal(
    other.stderr,
    `convnext: ${onnx}: exported at precision fp32, not int8; precision is chosen when exporting (convnext export --precision int8)\n`,
  );
  const ema = convnext("embed", image, "--weights", onnx, "--use-ema");
  assert.equal(ema.code, 2);
  assert.match(
    ema.stderr,
    /^convnext: .*atto-fp32\.onnx: --use-ema reads a training checkpoint, not an exported model\n$/,
  );
});

test("an .onnx where a checkpoint is read, or one that is not a regular file, is one line naming it", () => {
  const onnx = join(tmp, "atto-fp32.onnx");
  if (!existsSync(onnx)) assert.equal(convnext("export", weights, "--output", onnx).code, 0);
  for (const args of [
    [
      "run",
      "--weights",
      onnx,
      "--input",
      fixture("models", "v1-atto", "expected.safetensors"),
      "--output",
      join(tmp, "o.safetensors"),
    ],
    ["export", onnx, "--output", join(tmp, "again.onnx")],
  ]) {
    const r = convnext(...args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^convnext: .*atto-fp32\.onnx: an exported ONNX model, not a checkpoint .*\n$/);
  }
  const image = join("assets", "examples", "coat.png");
  const fifo = join(tmp, "pipe.onnx");
  execFileSync("mkfifo", [fifo]);
  const dir = join(tmp, "folder.onnx");
  mkdirSync(dir);
  const empty = join(tmp, "empty.onnx");
  writeFileSync(empty, "");
  for (const [file, why] of [
    [fifo, "cannot read exported model: it is a pipe \\(FIFO\\)"],
    [dir, "cannot read exported model: it is a directory"],
    [join(tmp, "missing.onnx"), "cannot read exported model \\(no such file or directory\\)"],
    [empty, "not an ONNX model \\(no graph\\)"],
  ]) {
    const r = convnext("classify", image, "--weights", file);
    assert.equal(r.code, 1, file);
    assert.match(
      r.stderr,
      new RegExp(`^convnext: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ${why}\n$`),
    );
  }
});
