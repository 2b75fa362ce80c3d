// --precision int8 end to end: export writes a smaller graph that runs close to the reference; run uses it;
// an unknown precision is refused in one line.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
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
