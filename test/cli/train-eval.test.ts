// `convnext eval`: exactly the keys {top1, top5, n}; on a class folder it agrees with the validation accuracy
// `convnext train` measured; ImageNet synset folders map to the 1k class order; the IDX test split is
// preprocessed as the weights' metadata says (both the current and the early zero-pad form).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { padPreprocess, targetIndices } from "../../src/cli/eval.ts";
import { saveSafetensors } from "../../src/checkpoint/load-node.ts";
import { makeConfig } from "../../src/models/config.ts";
import { tinyGrayConvNeXt } from "../tiny-model.ts";
import { initParams } from "../../src/models/init.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { BatchLoader } from "../../src/train/data/loader-node.ts";
import { Evaluator } from "../../src/train/evaluate.ts";
import { Rng } from "../../src/train/rng.ts";
import { convnext } from "./run-cli.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-eval-cli-");

/** PNGs of two easily told classes: bright left half vs bright top half, with seeded noise. */
async function writeFolder(
  dir: string,
  classes: string[],
  count: number | number[],
  size: number,
  seed: number,
) {
  const rng = new Rng(seed);
  for (const [c, name] of classes.entries()) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < (typeof count === "number" ? count : count[c]); i++) {
      const px = Buffer.alloc(size * size * 3);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          for (let k = 0; k < 3; k++) {
            const on = c % 2 === 0 ? x < size / 2 : y < size / 2;
            px[(y * size + x) * 3 + k] = (on ? 170 : 50) + rng.int(80);
          }
      await sharp(px, { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(join(dir, name, `${i}.png`));
    }
  }
}

function evalJson(...args: string[]): { top1: number; top5: number; n: number } {
  const r = convnext("eval", "--threads", "1", "--json", ...args);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(result), ["top1", "top5", "n"]);
  return result;
}

test("on a train/val folder, eval --json gives the validation accuracy the training run measured", async () => {
  const root = join(tmp, "shapes");
  await writeFolder(join(root, "train"), ["left", "top"], 12, 32, 1);
  await writeFolder(join(root, "val"), ["left", "top"], 5, 32, 2);
  const out = join(tmp, "shapes-run");
  const tiny = '{"dims":[8,16,24,32],"depths":[1,1,1,1],"patchSize":2,"kernelSize":3}';
  const r = convnext(
    "train",
    ...[
      "--data",
      root,
      "--config",
      tiny,
      "--epochs",
      "3",
      "--batch",
      "8",
      "--lr",
      "4e-3",
      "--ema-decay",
      "0.5",
    ],
    ...["--threads", "1", "--out", out],
  );
  assert.equal(r.code, 0, r.stderr);
  const epochs = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((x) => x.kind === "epoch");
  const val = epochs.at(-1).val;
  const got = evalJson("--data", root, "--weights", join(out, "model.safetensors"));
  assert.equal(got.n, 10);
  assert.equal(got.n, val.n);
  assert.equal(got.top1, val.top1);
  assert.equal(got.top5, 1);
});

test("ImageNet synset folders are scored in the 1k class order, not the folder order", async () => {
  // Head weights 0, so the logits are the biases: class 999 first, then 1; class 0 is below every other.
  const cfg = makeConfig({ dims: [8, 16, 24, 32], depths: [1, 1, 1, 1], numClasses: 1000 });
  const rng = new Rng(0);
  const params = initParams(cfg, () => rng.normal());
  params.get("head.fc.weight")!.data.fill(0);
  const bias = params.get("head.fc.bias")!.data;
  bias[999] = 10;
  bias[1] = 5;
  bias[0] = -1;
  const weights = join(tmp, "synset-model.safetensors");
  await saveSafetensors(weights, params, { format: "pt" });
  const dir = join(tmp, "imagenet-val");
  await writeFolder(dir, ["n01440764", "n15075141"], [2, 3], 40, 3);
  // Synset order: targets 0 and 999, so the 3 images of n15075141 are right, top-5 excludes class 0.
  // Folder order would make the targets 0 and 1: top-1 0, top-5 3/5.
  assert.deepEqual(evalJson("--data", dir, "--weights", weights, "--batch", "4"), {
    top1: 0.6,
    top5: 0.6,
    n: 5,
  });
});

test("the IDX test split: eval matches the training-side evaluation for both preprocess forms", async () => {
  const dir = join(tmp, "idx");
  mkdirSync(dir);
  const n = 60;
  const images = new Uint8Array(n * 784);
  const rng = new Rng(9);
  for (let i = 0; i < images.length; i++) images[i] = (i % 28 < 14 ? 40 : 0) + rng.int(200);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const idx = (dims: number[], body: Uint8Array) => {
    const out = new Uint8Array(4 + 4 * dims.length + body.length);
    out[2] = 8;
    out[3] = dims.length;
    dims.forEach((d, i) => {
      new DataView(out.buffer).setUint32(4 + 4 * i, d, false);
    });
    out.set(body, 4 + 4 * dims.length);
    return out;
  };
  writeFileSync(join(dir, "t10k-images-idx3-ubyte"), idx([n, 28, 28], images));
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), idx([n], labels));

  const cfg = tinyGrayConvNeXt();
  const params = initParams(cfg, () => rng.normal());
  for (const v of params.get("head.fc.weight")!.data.keys()) params.get("head.fc.weight")!.data[v] *= 50;
  const norm = { mean: [0.286], std: [0.353] };
  const current = {
    inputSize: 32,
    resizeSize: 28,
    cropPct: 1,
    cropMode: "center",
    interpolation: "bilinear",
    ...norm,
  };
  const early = {
    inputSize: 32,
    interpolation: "bilinear",
    ...norm,
    cropPct: 1,
    cropMode: "pad",
    grayscale: true,
    pad: 2,
  };

  const loader = new BatchLoader({
    source: { kind: "arrays", images, labels, width: 28, height: 28, channels: 1 },
    batchSize: 25,
    seed: 0,
    transform: { kind: "center-pad-crop", size: 32, pad: 2, ...norm },
    numClasses: 10,
    shuffle: false,
    workers: 0,
  });
  const evaluator = await Evaluator.create(cfg, [32, 32], (b) => createSession(b, { threads: 1 }));
  const expected = await evaluator.evaluate(params, loader.batches({ epoch: 0, batch: 0 }, 1));
  await evaluator.release();
  await loader.close();
  assert.ok(expected.top1 > 0 && expected.top1 < 1, "a result that could not hide a wrong preprocessing");

  for (const [name, preprocess] of Object.entries({ current, early })) {
    const weights = join(tmp, `idx-${name}.safetensors`);
    await saveSafetensors(weights, params, {
      format: "pt",
      config: JSON.stringify(cfg),
      preprocess: JSON.stringify(preprocess),
    });
    const got = evalJson("--data", dir, "--weights", weights, "--batch", "16");
    assert.deepEqual(got, { top1: expected.top1, top5: expected.top5, n }, name);
  }
  assert.deepEqual(padPreprocess(JSON.stringify(early)), {
    inputSize: 32,
    resizeSize: 28,
    cropPct: 1,
    cropMode: "center",
    interpolation: "bilinear",
    mean: [0.286, 0.286, 0.286],
    std: [0.353, 0.353, 0.353],
  });
  assert.equal(padPreprocess(JSON.stringify(current)), undefined);
});

test("class mapping: synsets, then the model's label names, then the folder order; too few classes is an error", () => {
  const data = { kind: "folder" as const, classes: ["b", "a"], labels: Int32Array.from([0, 1, 1]) };
  const byName = targetIndices(data, { numClasses: 3, labels: ["a", "c", "b"], labelSource: "metadata" });
  assert.deepEqual([...byName.targets], [2, 0, 0]);
  assert.equal(byName.mapping, "class names");
  const byOrder = targetIndices(data, {
    numClasses: 2,
    labels: ["class 0", "class 1"],
    labelSource: "generic",
  });
  assert.deepEqual([...byOrder.targets], [0, 1, 1]);
  // Folders naming some of the model's labels but not all (or only up to case) are refused, not scored in order.
  for (const classes of [
    ["red", "purple"],
    ["RED", "Blue"],
  ]) {
    const partial = { kind: "folder" as const, classes, labels: Int32Array.from([0, 1]) };
    assert.throws(
      () =>
        targetIndices(partial, { numClasses: 3, labels: ["blue", "green", "red"], labelSource: "metadata" }),
      /match(es)? none of the model's labels \(blue, green, red\), which other folders name/,
    );
  }
  // None of them named after a label: the folder order, as before.
  const unnamed = { kind: "folder" as const, classes: ["x", "y"], labels: Int32Array.from([0, 1]) };
  const inOrder = targetIndices(unnamed, {
    numClasses: 3,
    labels: ["blue", "green", "red"],
    labelSource: "metadata",
  });
  assert.equal(inOrder.mapping, "class order");
  assert.throws(
    () => targetIndices(data, { numClasses: 1, labels: ["x"], labelSource: "generic" }),
    /2 classes but the model only 1/,
  );
  const synsets = {
    kind: "folder" as const,
    classes: ["n01443537", "n15075141"],
    labels: Int32Array.from([0, 1]),
  };
  const names = Array.from({ length: 1000 }, (_, i) => `c${i}`);
  assert.deepEqual([...targetIndices(synsets, { numClasses: 1000, labels: names }).targets], [1, 999]);
  assert.throws(
    () =>
      targetIndices({ ...synsets, classes: ["n00000000", "n15075141"] }, { numClasses: 1000, labels: names }),
    /class folder n00000000 is not an ImageNet-1k synset/,
  );
});
