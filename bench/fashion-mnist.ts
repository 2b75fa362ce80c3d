/**
 * Fashion-MNIST from scratch (a benchmark, not a test): trains the small ConvNeXt that ships as the bundled
 * model, with the `small-data` recipe, and writes
 *   assets/models/fashion-mnist/model.safetensors  (EMA weights, timm names, config + preprocessing in metadata)
 *   docs/fashion-mnist/metrics.jsonl               (a line every 20 steps and per epoch)
 *   docs/fashion-mnist/curves.svg, curves.html     (bench/fashion-mnist-curves.ts)
 * The defaults are the recipe of the committed model (docs/fashion-mnist/README.md).
 * Usage: node --import tsx bench/fashion-mnist.ts [--epochs N] [--threads N] [--lr X] [--layer-scale X]
 *        [--drop-path X] [--reprob X] [--ema X] [--out DIR]
 */
import { convnextTrainable } from "../src/train/trainable.ts";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { saveSafetensors } from "../src/checkpoint/load-node.ts";
import { buildConvNeXt, paramShapes } from "../src/models/convnext.ts";
import { countMacs, countParams } from "../src/models/count.ts";
import { initParams } from "../src/models/init.ts";
import { createSession } from "../src/runtime/session-node.ts";
import type { SampleTransform } from "../src/train/augment/sample-transform.ts";
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  loadFashionMnist,
} from "../src/train/data/fashion-mnist-node.ts";
import { fashionMnistDir } from "../src/train/data/fashion-mnist-fetch-node.ts";
import { BatchLoader } from "../src/train/data/loader-node.ts";
import { fashionMnistSource } from "../src/train/data/sources-node.ts";
import { nodeStepEngine } from "../src/train/engine-node.ts";
import { Evaluator } from "../src/train/evaluate.ts";
import { writeFashionMnistCurves } from "./fashion-mnist-curves.ts";
import { FASHION_MNIST_RECIPE as R, fashionMnistModel } from "./fashion-mnist-model.ts";
import { Rng } from "../src/train/rng.ts";
import { type TrainConfig, Trainer } from "../src/train/trainer.ts";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: String(R.epochs) },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: String(R.batch) },
    lr: { type: "string", default: String(R.lr) },
    "layer-scale": { type: "string", default: String(R.layerScaleInit) },
    "drop-path": { type: "string", default: String(R.dropPathRate) },
    reprob: { type: "string", default: String(R.reprob) },
    ema: { type: "string", default: String(R.emaDecay) },
    out: { type: "string", default: resolve(import.meta.dirname, "..") },
  },
});
const epochs = Number(args.epochs);
const batchSize = Number(args.batch);
const out = args.out;

// The small-image ConvNeXt (src/train/presets.ts), gray input, 10 classes.
const model = fashionMnistModel({
  dropPathRate: Number(args["drop-path"]),
  layerScaleInit: Number(args["layer-scale"]),
});
const norm = { mean: [FASHION_MNIST_MEAN], std: [FASHION_MNIST_STD] };
const trainTransform: SampleTransform = {
  kind: "pad-crop-flip",
  size: 32,
  pad: 4,
  hflip: 0.5,
  reprob: Number(args.reprob),
  ...norm,
};
const evalTransform: SampleTransform = { kind: "center-pad-crop", size: 32, pad: 2, ...norm };
const recipe: TrainConfig = {
  epochs,
  lr: Number(args.lr),
  minLr: 1e-5,
  warmupEpochs: 1,
  weightDecay: 0.05,
  accumulate: 1,
  emaDecay: Number(args.ema),
  layerDecay: null,
  seed: 0,
};
const smoothing = 0.1;

const dataDir = await fashionMnistDir();
const train = loadFashionMnist("train", dataDir);
const test = loadFashionMnist("test", dataDir);
const trainLoader = new BatchLoader({
  source: fashionMnistSource(train),
  batchSize,
  seed: recipe.seed,
  transform: trainTransform,
  numClasses: 10,
  labelSmoothing: smoothing,
  workers: 1,
});
const testLoader = new BatchLoader({
  source: fashionMnistSource(test),
  batchSize: 500,
  seed: 0,
  transform: evalTransform,
  numClasses: 10,
  shuffle: false,
  dropLast: false,
  workers: 0,
});

const threads = Number(args.threads);
const session = (b: Uint8Array) => createSession(b, { threads, spinning: false });
const rng = new Rng(recipe.seed);
const trainer = await Trainer.create(
  convnextTrainable(model),
  initParams(model, () => rng.normal()),
  [batchSize, 1, 32, 32],
  trainLoader.batchesPerEpoch(),
  recipe,
  nodeStepEngine({ replicas: threads }),
);
const evaluator = await Evaluator.create(model, [32, 32], session);

mkdirSync(join(out, "docs/fashion-mnist"), { recursive: true });
const metricsFile = join(out, "docs/fashion-mnist/metrics.jsonl");
writeFileSync(metricsFile, "");
const log = (o: object) => appendFileSync(metricsFile, `${JSON.stringify(o)}\n`);
const macs = countMacs(buildConvNeXt(model, { inputShape: [1, 1, 32, 32] }).graph);
const setup = {
  model,
  params: countParams(paramShapes(model)),
  macs,
  recipe,
  smoothing,
  trainTransform,
  evalTransform,
  batchSize,
  threads,
  replicas: trainer.replicaCount,
};
log({ setup });
console.log(JSON.stringify(setup));

const started = performance.now();
let best = 0;
await trainer.run(trainLoader.batches({ epoch: 0, batch: 0 }, epochs), {
  onStep: (s) => {
    if (s.step % 20 === 0) log({ ...s, seconds: (performance.now() - started) / 1000 });
  },
  onEpoch: async (epoch) => {
    const r = await evaluator.evaluate(trainer.evalParams, testLoader.batches({ epoch: 0, batch: 0 }, 1));
    const seconds = (performance.now() - started) / 1000;
    log({ epoch, test: r, seconds });
    console.log(
      `epoch ${epoch + 1}/${epochs}: test top-1 ${(100 * r.top1).toFixed(2)}% loss ${r.loss.toFixed(4)} (${(seconds / 60).toFixed(1)} min)`,
    );
    best = r.top1;
    const preprocess = {
      inputSize: 32,
      interpolation: "bilinear",
      mean: norm.mean,
      std: norm.std,
      cropPct: 1,
      cropMode: "pad",
      grayscale: true,
      pad: 2,
    };
    mkdirSync(join(out, "assets/models/fashion-mnist"), { recursive: true });
    await saveSafetensors(join(out, "assets/models/fashion-mnist/model.safetensors"), trainer.evalParams, {
      format: "pt",
      config: JSON.stringify(model),
      labels: JSON.stringify(FASHION_MNIST_CLASSES),
      preprocess: JSON.stringify(preprocess),
      test_top1: String(r.top1),
      epochs: String(epoch + 1),
      trained_by: "convnext.ts bench/fashion-mnist.ts",
    });
  },
});
console.log(
  `done: test top-1 ${(100 * best).toFixed(2)}% in ${((performance.now() - started) / 60000).toFixed(1)} min`,
);
writeFashionMnistCurves(metricsFile, "Fashion-MNIST from scratch (test set, EMA weights)", [
  `dims ${model.dims.join("/")}, depths ${model.depths.join("/")}, ${setup.params} parameters, ${macs} multiply-adds per image`,
  `batch ${batchSize}, lr ${recipe.lr}, ${epochs} epochs, EMA ${recipe.emaDecay}`,
]);
await trainLoader.close();
await testLoader.close();
await trainer.release();
await evaluator.release();
