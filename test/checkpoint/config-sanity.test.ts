// Architectures read from files are checked before a graph is built from them.
import assert from "node:assert/strict";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpointFile } from "../../src/checkpoint/load-node.ts";
import { readHfConfig } from "../../src/checkpoint/conventions.ts";
import { inferConfig } from "../../src/checkpoint/infer-architecture.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { assertOneLineError, readTensors, rejectsOneLine, tempDir } from "../helpers.ts";

const timm = readTensors(fixture("models", "v1-small", "timm.safetensors"));

/** The fixture's weights with every depthwise kernel reshaped to k x k (values do not matter here). */
function withKernel(k: number): Map<string, HostTensor> {
  const out = new Map(timm);
  for (const [key, t] of timm) {
    if (key.endsWith("conv_dw.weight")) {
      out.set(key, { ...t, dims: [t.dims[0], 1, k, k], data: new Float32Array(t.dims[0] * k * k) });
    }
  }
  return out;
}

test("an even or zero depthwise kernel read off the weights is refused in one line", () => {
  assert.equal(inferConfig(withKernel(5), "k5.safetensors").kernelSize, 5);
  assertOneLineError(
    () => inferConfig(withKernel(6), "k6.safetensors"),
    /^k6\.safetensors: .*depthwise kernel 6 is even/,
  );
  assertOneLineError(
    () => inferConfig(withKernel(0), "k0.safetensors"),
    /^k0\.safetensors: .*depthwise kernel is 0/,
  );
});

test("a stage index far beyond any model is refused before stages are counted", () => {
  const t = new Map(timm);
  t.set("stages.999999999.downsample.1.weight", timm.get("stem.0.weight")!);
  assertOneLineError(
    () => inferConfig(t, "stages.safetensors"),
    /^stages\.safetensors: .*names stage 999999999/,
  );
});

test("an HF config with a non-positive eps, a long or non-integer size list, or deep nesting is refused", () => {
  const base = { model_type: "convnext", hidden_sizes: [8, 16], depths: [1, 1] };
  assert.equal(readHfConfig({ ...base, layer_norm_eps: 1e-6 }).headNormEps, 1e-6);
  for (const eps of [-1, 0, "1e-6"]) {
    assertOneLineError(
      () => readHfConfig({ ...base, layer_norm_eps: eps }, "c.json"),
      /^c\.json: HF config layer_norm_eps is .*expected a finite number > 0/,
    );
  }
  assertOneLineError(
    () => readHfConfig({ ...base, depths: new Array(1e6).fill(1) }, "c.json"),
    /^c\.json: HF config depths must be a list of 1 to 16 integers/,
  );
  assertOneLineError(
    () => readHfConfig({ ...base, hidden_sizes: [8, 1e12] }, "c.json"),
    /^c\.json: HF config hidden_sizes\[1\] is 1000000000000/,
  );
  const deep = JSON.parse(`{"model_type": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
  assertOneLineError(
    () => readHfConfig(deep, "deep.json"),
    /^deep\.json: HF config nests deeper than 100 levels/,
  );
});

test("an HF folder whose config.json has layer_norm_eps -1 is refused naming the config", async () => {
  const dir = tempDir("convnext-hf-eps-");
  const hf = fixture("models", "v1-small", "hf");
  const config = JSON.parse(readFileSync(join(hf, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, layer_norm_eps: -1 }));
  symlinkSync(join(hf, "model.safetensors"), join(dir, "model.safetensors"));
  await rejectsOneLine(
    loadCheckpointFile(dir),
    /config\.json: HF config layer_norm_eps is -1, expected a finite number > 0$/,
  );
});
