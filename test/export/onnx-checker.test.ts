// The onnx package's own checker (full_check) on export output, when a Python with `onnx` is installed
// (Debian: python3-onnx); skipped otherwise, since nothing may be downloaded at test time.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { convnext } from "../cli/run-cli.ts";
import { tempDir } from "../helpers.ts";

const python = ["python3", "/usr/bin/python3"].find(
  (p) => spawnSync(p, ["-c", "import onnx"], { stdio: "ignore" }).status === 0,
);
const tmp = tempDir("convnext-checker-");

test("onnx.checker.check_model(full_check=True) accepts export output", {
  skip: !python && "no Python with onnx",
}, () => {
  const files: string[] = [];
  for (const [name, precision] of [
    ["v1-small", "fp32"],
    ["v2-small", "fp16"],
  ]) {
    const out = join(tmp, `${name}-${precision}.onnx`);
    const r = convnext(
      "export",
      fixture("models", name, "timm.safetensors"),
      "--precision",
      precision,
      "--outputs",
      "stem,stage0,stage1,stage2,stage3,pre_logits,logits",
      "--output",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    files.push(out);
  }
  const r = spawnSync(python!, [join(REPO_ROOT, "test", "export", "onnx-check.py"), ...files], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, files.length);
});
