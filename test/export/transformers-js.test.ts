// `export --format transformers.js` writes a folder @huggingface/transformers loads from disk alone and whose
// image-classification pipeline gives our top-5. Its resize is sharp's, not PIL's, so images are compared
// after our own resize and crop, with the processor's resize turned off (its rescale and normalise still run).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { env, type ImageClassificationPipeline, pipeline, RawImage } from "@huggingface/transformers";
import { ImageClassifier } from "../../src/api/classify-node.ts";
import { BUNDLED_MODEL_PATH, openModel } from "../../src/api/model-source-node.ts";
import { transformersJsPreprocessor } from "../../src/api/transformers-js.ts";
import { readOnnxSummary } from "../../src/graph/onnx-read.ts";
import { resolvePretrained } from "../../src/pretrained/registry.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { fixture } from "../fixtures.ts";
import { convnext } from "../cli/run-cli.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-tjs-");
const weights = fixture("models", "v1-atto", "timm.safetensors");
const PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"];

test("the transformers.js folder: config.json, preprocessor_config.json and onnx/model.onnx with pixel_values", () => {
  const r = convnext("export", weights, "--format", "transformers.js", "--output", join(tmp, "atto"));
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(tmp, "atto", "config.json"), "utf8"));
  assert.equal(config.model_type, "convnext");
  assert.deepEqual(config.hidden_sizes, [40, 80, 160, 320]);
  assert.deepEqual(config.depths, [2, 2, 6, 2]);
  assert.equal(config.num_labels, 1000);
  assert.equal(config.id2label["1"], "goldfish");
  assert.equal(config.label2id.goldfish, 1);
  const processor = JSON.parse(readFileSync(join(tmp, "atto", "preprocessor_config.json"), "utf8"));
  assert.equal(processor.image_processor_type, "ConvNextImageProcessor");
  assert.deepEqual(processor.size, { shortest_edge: 224 });
  assert.equal(processor.crop_pct, 0.875);
  assert.equal(processor.resample, 3);
  assert.deepEqual(processor.image_std, [0.229, 0.224, 0.225]);
  const model = readOnnxSummary(new Uint8Array(readFileSync(join(tmp, "atto", "onnx", "model.onnx"))));
  assert.deepEqual(
    model.inputs.map((i) => i.name),
    ["pixel_values"],
  );
  assert.deepEqual(
    model.outputs.map((o) => o.name),
    ["logits"],
  );

  const fp16 = convnext(
    "export",
    weights,
    "--format",
    "transformers.js",
    "--precision",
    "fp16",
    "--output",
    join(tmp, "h"),
  );
  assert.equal(fp16.code, 0, fp16.stderr);
  assert.ok(existsSync(join(tmp, "h", "onnx", "model_fp16.onnx")), "transformers.js's name for dtype fp16");
});

test("a 1-channel model with framed input is refused for transformers.js in one line", () => {
  const r = convnext(
    "export",
    BUNDLED_MODEL_PATH,
    "--format",
    "transformers.js",
    "--output",
    join(tmp, "fm"),
  );
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /takes 1-channel \(grayscale\) input, which ConvNextImageProcessor cannot reproduce\n$/,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("preprocessor_config.json reproduces each pretrained entry's resize, or the export is refused", () => {
  const processor = (name: string) => {
    const entry = resolvePretrained(name);
    return transformersJsPreprocessor({ config: entry.preprocess, channels: 3 }, name);
  };
  // ConvNextImageProcessor below 384 px resizes the short side to floor(size / crop_pct), as Python's int().
  for (const [name, target] of [
    ["convnext_atto.d2_in1k", 256],
    ["convnext_tiny.in12k_ft_in1k", 235],
    ["convnext_tiny.tv_in1k", 236],
    ["convnext_small.tv_in1k", 230],
    ["convnext_base.tv_in1k", 232],
  ] as const) {
    const p = processor(name);
    assert.equal(Math.floor(224 / (p.crop_pct as number)), target, name);
    assert.deepEqual(p.size, { shortest_edge: 224 });
  }
  assert.deepEqual(
    [
      processor("convnext_tiny.in12k_ft_in1k_384").size,
      processor("convnext_tiny.in12k_ft_in1k_384").crop_pct,
    ],
    [{ shortest_edge: 384 }, 1],
  );
  // From 384 px the processor squashes; timm's 'center' keeps the aspect ratio and crops.
  assert.throws(
    () => processor("convnext_nano.r384_in12k_ft_in1k"),
    /^Error: convnext_nano\.r384_in12k_ft_in1k: preprocessing at 384 px is 'center' resizing to 384 then cropping, which ConvNextImageProcessor cannot reproduce$/,
  );
});

test("pipeline('image-classification') on the exported folder gives our top-5 on already-sized images", async () => {
  env.allowRemoteModels = false;
  env.localModelPath = tmp;
  const classify = (await pipeline("image-classification", "atto")) as ImageClassificationPipeline;
  const processor = classify.processor as unknown as { image_processor?: object };
  Object.assign(processor.image_processor ?? processor, { do_resize: false });
  const ours = ImageClassifier.fromSource(await openModel({ weights }));
  for (const name of PHOTOS) {
    const prepared = ours.prepare(await decodeImage(fixture("preprocess", "images", name)));
    const { data, width, height } = prepared.uint8;
    const [expected] = await ours.run([prepared.tensor], { top: 5 });
    const got = (await classify(new RawImage(data, width, height, 3), { top_k: 5 })) as {
      label: string;
      score: number;
    }[];
    assert.deepEqual(
      got.map((p) => p.label),
      expected.top!.map((p) => p.label),
      name,
    );
    for (const [k, p] of got.entries()) assert.ok(Math.abs(p.score - expected.top![k].prob) < 1e-5, name);
  }
  await ours.release();
  await classify.dispose();
});
