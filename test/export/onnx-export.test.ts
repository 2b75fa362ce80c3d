// `export` output other tools accept: typed and shaped graph inputs/outputs, the checker's structural rules,
// producer and version, and metadata enough to rebuild the classifier from the .onnx alone.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openExportSource } from "../../src/api/export-source-node.ts";
import { createClassifier } from "../../src/api/classify-node.ts";
import { BUNDLED_MODEL_PATH } from "../../src/api/model-source-node.ts";
import { openOnnxClassifier } from "../../src/api/onnx-classifier-node.ts";
import { parsePreprocessJson } from "../../src/api/image-preprocess.ts";
import { exportOnnx } from "../../src/api/onnx-export-node.ts";
import { readExportMetadata } from "../../src/api/onnx-metadata.ts";
import { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { readOnnxSummary } from "../../src/graph/onnx-read.ts";
import { FEATURE_OUTPUTS } from "../../src/models/convnext.ts";
import { packageVersion } from "../../src/node/package-version.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { convnext } from "../cli/run-cli.ts";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { maxAbs, maxAbsDiff, readTensors, tempDir } from "../helpers.ts";
import { onnxRuleViolations } from "./onnx-rules.ts";

const tmp = tempDir("convnext-export-");

test("every graph input and output declares type and shape; the checker's structural rules hold", async () => {
  for (const name of ["v1-small", "v2-small"]) {
    const source = await openExportSource(fixture("models", name, "timm.safetensors"));
    const bytes = exportOnnx(source, { outputs: FEATURE_OUTPUTS });
    assert.deepEqual(onnxRuleViolations(bytes), [], name);
    const { inputs, outputs } = readOnnxSummary(bytes);
    const { dims, numClasses, inChans } = source.config;
    assert.deepEqual(inputs, [{ name: "x", elemType: 1, dims: ["batch_size", inChans, "height", "width"] }]);
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o]));
    assert.deepEqual(Object.keys(byName).sort(), [...FEATURE_OUTPUTS].sort());
    assert.deepEqual(byName.logits.dims, ["batch_size", numClasses]);
    assert.deepEqual(byName.pre_logits.dims, ["batch_size", dims[dims.length - 1]]);
    assert.deepEqual(byName.stem.dims, ["batch_size", dims[0], "stem_height", "stem_width"]);
    for (const [s, c] of dims.entries())
      assert.deepEqual(byName[`stage${s}`].dims, ["batch_size", c, `stage${s}_height`, `stage${s}_width`]);
    assert.ok(outputs.every((o) => o.elemType === 1));
  }
});

test("the rule check catches an output without a shape", () => {
  const g = new Graph("g");
  const x = g.input("x", "float32", ["n"]);
  g.outputs.push({ name: g.op("Identity", [x]), dtype: "float32" });
  const bytes = toOnnxBytes(g, { producer: "p", producerVersion: "1" });
  assert.deepEqual(onnxRuleViolations(bytes), ["graph output 'identity' has no shape"]);
});

test("metadata_props rebuild config, labels and preprocessing; producer is convnext at the package version", async () => {
  // The rarest settings the metadata must carry: one input channel and the 'pad' crop of models trained before
  // the trainer wrote resizeSize.
  const bundled = await openExportSource(BUNDLED_MODEL_PATH);
  const padded =
    '{"inputSize":32,"interpolation":"bilinear","mean":[0.286],"std":[0.353],"cropPct":1,"cropMode":"pad","pad":2}';
  const source = { ...bundled, preprocess: parsePreprocessJson(padded, 1) };
  const bytes = exportOnnx(source, { precision: "fp16" });
  const summary = readOnnxSummary(bytes);
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
  assert.equal(summary.producerName, "convnext");
  assert.equal(summary.producerVersion, pkg.version);
  assert.equal(packageVersion(), pkg.version);
  assert.equal(summary.metadata.precision, "fp16");
  const facts = readExportMetadata(summary.metadata, "model.onnx");
  assert.deepEqual(facts.config, source.config);
  assert.deepEqual(facts.labels, source.labels);
  assert.deepEqual(facts.preprocess, source.preprocess);
  assert.equal(facts.preprocess.pad, 2);
  assert.equal(facts.preprocess.channels, 1);

  const { config: _, ...rest } = summary.metadata;
  assert.throws(() => readExportMetadata(rest, "m.onnx"), /^Error: m\.onnx: no 'config' in metadata_props/);
  const broken = { ...summary.metadata, config: '{"dims":[8],"depths":[1,2]}' };
  assert.throws(() => readExportMetadata(broken, "m.onnx"), /dims \(1 stages\) and depths \(2 stages\)/);
});

test("a classifier opened from the exported .onnx alone gives the checkpoint's top-5, also in classify", async () => {
  const path = join(tmp, "bundled.onnx");
  writeFileSync(path, exportOnnx(await openExportSource(BUNDLED_MODEL_PATH)));
  const files = ["ankle-boot.png", "coat.png", "sandal.png", "shirt.png"].map((f) =>
    join(REPO_ROOT, "assets", "examples", f),
  );
  const reference = await createClassifier();
  const expected = await reference.classify(files, { top: 5 });
  await reference.release();
  const fromOnnx = await openOnnxClassifier(path);
  const got = await fromOnnx.classify(files, { top: 5 });
  await assert.rejects(
    fromOnnx.embed(files),
    /bundled\.onnx: exported without output pre_logits \(has logits\)/,
  );
  await fromOnnx.release();
  for (const [i, r] of got.entries()) {
    assert.deepEqual(
      r.top.map((p) => p.label),
      expected[i].top.map((p) => p.label),
    );
    for (const [k, p] of r.top.entries()) assert.ok(Math.abs(p.prob - expected[i].top[k].prob) < 1e-5);
  }

  const cli = convnext("classify", ...files, "--weights", path, "--top", "3");
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, convnext("classify", ...files, "--top", "3").stdout);
  const both = convnext("classify", files[0], "--weights", path, "--model", "convnext_atto");
  assert.match(both.stderr, /bundled\.onnx: an exported model takes no --model\/--weights beside it/);
});

test("--precision fp16 halves the file, keeps float32 inputs and outputs, logits within 1e-3 of their scale", async () => {
  const dir = fixture("models", "v1-atto");
  const source = await openExportSource(join(dir, "timm.safetensors"));
  const expected = readTensors(join(dir, "expected.safetensors"));
  const fp32 = exportOnnx(source);
  const fp16 = exportOnnx(source, { precision: "fp16" });
  assert.deepEqual(onnxRuleViolations(fp16), []);
  assert.ok(fp16.length < 0.51 * fp32.length, `${fp16.length} bytes vs ${fp32.length}`);
  const summary = readOnnxSummary(fp16);
  assert.ok([...summary.inputs, ...summary.outputs].every((v) => v.elemType === 1));
  const x = expected.get("x")!;
  const logits = async (bytes: Uint8Array) => {
    const session = await createSession(bytes, { threads: 1 });
    const y = (await session.run({ x })).logits;
    await session.release();
    return y;
  };
  const [l32, l16] = [await logits(fp32), await logits(fp16)];
  const reference = expected.get("logits")!;
  const scale = maxAbs(reference);
  assert.ok(maxAbsDiff(l32, reference) <= 1e-5);
  // fp16 keeps 11 significant bits (relative rounding 4.9e-4 per weight); measured 5.3e-4 of the scale.
  const err = maxAbsDiff(l16, reference);
  assert.ok(err <= 1e-3 * scale, `max |Δlogit| ${err} for max |logit| ${scale}`);
  assert.ok(err > 0, "the weights really are rounded");
});
