// The library API: classify/embed/createClassifier on paths, bytes and pixels, against model.forward; the
// browser classifier (onnxruntime-web, which also runs in Node) against the Node one; the bundled model.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { readCheckpointBytes } from "../../src/checkpoint/read-bytes.ts";
import { classify, createClassifier, embed, type ImageClassifier } from "../../src/api/classify-node.ts";
import { createWebClassifier } from "../../src/api/classifier-web.ts";
import { BUNDLED_MODEL_PATH } from "../../src/api/model-source-node.ts";
import { softmax } from "../../src/api/top-k.ts";
import { loadCheckpointFile } from "../../src/checkpoint/load-node.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { ConvNeXtModel } from "../../src/node/model.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { batchTensors, evalTransform } from "../../src/preprocess/transform.ts";
import { resolvePretrained } from "../../src/pretrained/registry.ts";
import { FASHION_MNIST_DIR, loadFashionMnist } from "../../src/train/data/fashion-mnist-node.ts";
import { fixture } from "../fixtures.ts";
import { maxAbsDiff } from "../helpers.ts";

const V1_SMALL = fixture("models", "v1-small", "timm.safetensors");
const FB_IN1K = resolvePretrained("convnext_tiny.fb_in1k").preprocess;
const files = ["chelsea.png", "rocket.jpg", "foo3x5x4indexed.png"].map((f) =>
  fixture("preprocess", "images", f),
);

let clf: ImageClassifier;
let model: ConvNeXtModel;
before(async () => {
  clf = await createClassifier({ weights: V1_SMALL, threads: 1, batch: 2 });
  model = await ConvNeXtModel.load(V1_SMALL, { threads: 1 });
});
after(async () => {
  await clf.release();
  await model.release();
});

async function reference(outputs: ("logits" | "pre_logits" | "stage1")[]) {
  const x = batchTensors(
    await Promise.all(files.map(async (f) => evalTransform(await decodeImage(f), FB_IN1K).tensor)),
  );
  return model.forward(x, outputs);
}

test("classify: paths, encoded bytes and decoded pixels give the same answers, = softmax(model.forward)", async () => {
  const { logits } = await reference(["logits"]);
  const k = logits.dims[1];
  const inputs = [files[0], new Uint8Array(readFileSync(files[1])), await decodeImage(files[2])];
  const results = await clf.classify(inputs, { top: k });
  assert.deepEqual(
    results.map((r) => r.file),
    [files[0], undefined, undefined],
  );
  results.forEach((r, i) => {
    const p = softmax(logits.data as Float32Array, i * k, k);
    assert.equal(r.top.length, k);
    for (const t of r.top) {
      assert.equal(t.label, `class ${t.index}`);
      assert.ok(Math.abs(t.prob - p[t.index]) <= 1e-6);
    }
  });
  // The one-shot function agrees with the kept-loaded classifier.
  const once = await classify(files, { weights: V1_SMALL, top: 2, threads: 1 });
  assert.deepEqual(
    once.map((r) => r.top.map((t) => t.index)),
    (await clf.classify(files, { top: 2 })).map((r) => r.top.map((t) => t.index)),
  );
});

test("embed returns each feature stacked over the images, equal to model.forward", async () => {
  const ref = await reference(["pre_logits", "stage1"]);
  const { files: names, features } = await clf.embed(files, { features: ["pre_logits", "stage1"] });
  assert.deepEqual(names, files);
  for (const f of ["pre_logits", "stage1"] as const) {
    assert.deepEqual(features[f]?.dims, ref[f].dims);
    assert.ok(maxAbsDiff(features[f]!, ref[f]) <= 1e-5, f);
  }
  const once = await embed(files.slice(0, 1), { weights: V1_SMALL, threads: 1 });
  assert.deepEqual(once.features.pre_logits?.dims, [1, ref.pre_logits.dims[1]]);
});

test("bad inputs and bad choices are one-line errors naming the problem", async () => {
  await assert.rejects(clf.classify([files[0], new Uint8Array([1, 2, 3])]), /^Error: image 1: not an image/);
  await assert.rejects(
    clf.classify([fixture("preprocess", "images", "truncated.jpg")]),
    /truncated\.jpg: corrupt or truncated/,
  );
  await assert.rejects(clf.embed(files, { features: ["stage9" as "stem"] }), /unknown feature 'stage9'/);
  await assert.rejects(
    createClassifier({ model: "convnext_tiny.nope" }),
    /unknown pretrained weights 'convnext_tiny\.nope'; closest: convnext_tiny\./,
  );
  await assert.rejects(
    createClassifier({ weights: V1_SMALL, model: "convnext_huge" }),
    /unknown model 'convnext_huge'/,
  );
  await assert.rejects(
    createClassifier({ weights: V1_SMALL, model: "convnext_tiny" }),
    /checkpoint does not fit the model/,
  );
  await assert.rejects(
    createClassifier({ weights: V1_SMALL, labels: ["a"] }),
    /the label list given has 1 names but the model has 10 classes/,
  );
});

test("the browser classifier (checkpoint bytes, onnxruntime-web) answers as the Node one", async () => {
  const bytes = new Uint8Array(readFileSync(fixture("models", "v1-small", "official.pth")));
  const ckpt = readCheckpointBytes(bytes, { source: "official.pth" });
  const fromFile = await loadCheckpointFile(fixture("models", "v1-small", "official.pth"));
  assert.equal(ckpt.convention, "official");
  assert.deepEqual(ckpt.config, fromFile.config);
  for (const [key, t] of fromFile.tensors) assert.equal(maxAbsDiff(ckpt.tensors.get(key)!, t), 0, key);

  const web = await createWebClassifier({
    weights: bytes,
    source: "official.pth",
    pretrained: "convnext_tiny.fb_in1k",
  });
  try {
    const images = await Promise.all(files.map((f) => decodeImage(f)));
    const [a, b] = [await web.classifyImages(images, { top: 10 }), await clf.classify(images, { top: 10 })];
    a.forEach((top, i) => {
      top.forEach((t, j) => {
        assert.equal(t.index, b[i].top[j].index);
        assert.ok(Math.abs(t.prob - b[i].top[j].prob) <= 1e-5);
      });
    });
    const emb = await web.embedImages(images);
    const ref = await clf.embed(images);
    assert.ok(maxAbsDiff(emb.pre_logits!, ref.features.pre_logits!) <= 1e-5);
  } finally {
    await web.release();
  }
});

test("the bundled Fashion-MNIST model scores on test images what its metadata says", {
  skip: !existsSync(BUNDLED_MODEL_PATH) || !existsSync(FASHION_MNIST_DIR),
}, async () => {
  const { metadata } = parseSafetensors(new Uint8Array(readFileSync(BUNDLED_MODEL_PATH)));
  // Its own claim: the test accuracy when one was recorded, else the validation accuracy `convnext train`
  // records (a held-out part of the same distribution).
  const claimed = Number(metadata.test_top1 ?? metadata.val_top1);
  const ds = await loadFashionMnist("test", FASHION_MNIST_DIR, false);
  const n = 500;
  const images = Array.from({ length: n }, (_, i) => {
    const rgb = new Uint8Array(28 * 28 * 3);
    for (let j = 0; j < 784; j++) rgb.fill(ds.images[i * 784 + j], j * 3, j * 3 + 3);
    return { data: rgb, width: 28, height: 28 };
  });
  const bundled = await createClassifier({ threads: 1, batch: 100 });
  try {
    assert.equal(bundled.info.labelSource, "metadata");
    const results = await bundled.classify(images, { top: 1 });
    const correct = results.filter((r, i) => r.top[0].index === ds.labels[i]).length;
    // 500 images: a binomial standard error of ~1.6 points around the full test set's accuracy.
    assert.ok(Math.abs(correct / n - claimed) < 0.06, `top-1 ${correct / n} vs ${claimed}`);
    assert.equal(results[0].top[0].label, ds.classes[results[0].top[0].index]);
  } finally {
    await bundled.release();
  }
});
