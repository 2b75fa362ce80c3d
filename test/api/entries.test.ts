// The public entries: the Node entry exposes the typed API; the browser entry pulls in no Node code at all.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../fixtures.ts";

/** Every module the file reaches through static imports/re-exports (relative ones), plus the bare imports. */
function importGraph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare };
}

test("the browser entry reaches no *-node.ts file, no Node built-in, no sharp, no onnxruntime-node", () => {
  const { files, bare } = importGraph(join(REPO_ROOT, "src", "browser.ts"));
  const nodeFiles = [...files]
    .map((f) => relative(REPO_ROOT, f))
    .filter((f) => /-node\.ts$|\/node\/|\/cli\//.test(f));
  assert.deepEqual(nodeFiles, []);
  const nodeDeps = [...bare].filter(
    (b) =>
      /^node:|^(fs|path|os|zlib|crypto|url|http|https|stream)$/.test(b) ||
      ["sharp", "onnxruntime-node"].includes(b),
  );
  assert.deepEqual(nodeDeps, []);
  // onnxruntime-web comes by dynamic import, its WASM build (the JSEP/WebGPU build only when asked for).
  assert.ok(!bare.has("onnxruntime-web"), "the default (JSEP) onnxruntime-web build is imported");
  const door = readFileSync(join(REPO_ROOT, "src", "runtime", "session-web.ts"), "utf8");
  assert.match(door, /await import\("onnxruntime-web\/wasm"\)/);
  assert.ok(files.has(join(REPO_ROOT, "src", "runtime", "session-web.ts")));
});

test("both entries export the promised API", async () => {
  const node = await import("../../src/index.ts");
  for (const name of [
    "modelConfig",
    "buildConvNeXt",
    "countMacs",
    "countParams",
    "loadCheckpointFile",
    "parseSafetensors",
    "decodeImage",
    "evalTransform",
    "batchTensors",
    "resolvePretrained",
    "fetchPretrainedFile",
    "loadLabels",
    "classify",
    "embed",
    "createClassifier",
    "StepRunner",
    "AdamW",
    "learningRate",
  ]) {
    assert.equal(typeof (node as Record<string, unknown>)[name], "function", name);
  }
  assert.ok(node.ConvNeXtModel.load);
  assert.ok(Array.isArray(node.PRETRAINED) && node.PRETRAINED.length > 0);
  const browser = await import("../../src/browser.ts");
  for (const name of [
    "createWebClassifier",
    "readCheckpointBytes",
    "evalTransform",
    "prepareImage",
    "createSession",
    "StepRunner",
    "AdamW",
    "learningRate",
  ]) {
    assert.equal(typeof (browser as Record<string, unknown>)[name], "function", name);
  }
  assert.ok(!("decodeImage" in browser) && !("classify" in browser));
});
