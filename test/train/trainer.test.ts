// The training loop on real data: a short run on a 2-class Fashion-MNIST subset lowers the loss and repeats
// exactly with the same seed; a tiny fixed batch is learnt to 100% training accuracy.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tinyGrayConvNeXt } from "../tiny-model.ts";
import { initParams } from "../../src/models/init.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import type { Batch } from "../../src/train/data/batch.ts";
import { buildBatch } from "../../src/train/data/batch.ts";
import { loadFashionMnist } from "../../src/train/data/fashion-mnist-node.ts";
import { BatchLoader } from "../../src/train/data/loader-node.ts";
import { fashionMnistSource, openSource } from "../../src/train/data/sources-node.ts";
import { Evaluator } from "../../src/train/evaluate.ts";
import { Rng } from "../../src/train/rng.ts";
import { convnextTrainable } from "../../src/train/trainable.ts";
import { type TrainConfig, Trainer } from "../../src/train/trainer.ts";

const fm = await loadFashionMnist("train");
const session = (b: Uint8Array) => createSession(b, { threads: 1, spinning: false });
const norm = { mean: [0.286], std: [0.353] };

/** The first `perClass` training images of each of `classes`. */
function subset(classes: number[], perClass: number): Int32Array {
  const seen = new Map(classes.map((c) => [c, 0]));
  const out: number[] = [];
  for (let i = 0; i < fm.n; i++) {
    const c = fm.labels[i];
    const k = seen.get(c);
    if (k === undefined || k >= perClass) continue;
    seen.set(c, k + 1);
    out.push(i);
  }
  return Int32Array.from(out);
}

const tiny = (numClasses: number, dropPathRate: number) => tinyGrayConvNeXt({ numClasses, dropPathRate });

async function shortRun(seed: number): Promise<number[]> {
  const cfg = tiny(2, 0.1);
  const loader = new BatchLoader({
    source: fashionMnistSource(fm),
    indices: subset([0, 1], 96),
    batchSize: 32,
    seed,
    transform: { kind: "pad-crop-flip", size: 32, pad: 4, hflip: 0.5, ...norm },
    numClasses: 2,
    labelSmoothing: 0.1,
    workers: 0,
  });
  const train: TrainConfig = {
    epochs: 4,
    lr: 4e-3,
    minLr: 1e-4,
    warmupEpochs: 0.5,
    weightDecay: 0.05,
    accumulate: 1,
    emaDecay: 0.9,
    layerDecay: null,
    seed,
  };
  const rng = new Rng(seed);
  const trainer = await Trainer.create(
    convnextTrainable(cfg),
    initParams(cfg, () => rng.normal()),
    [32, 1, 32, 32],
    loader.batchesPerEpoch(),
    train,
    session,
  );
  const losses: number[] = [];
  await trainer.run(loader.batches({ epoch: 0, batch: 0 }, train.epochs), {
    onStep: (s) => losses.push(s.loss),
  });
  await trainer.release();
  await loader.close();
  return losses;
}

test("a short run on 2-class Fashion-MNIST lowers the loss, and the same seed repeats it exactly", async () => {
  const a = await shortRun(3);
  assert.equal(a.length, 4 * 6);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const first = mean(a.slice(0, 4));
  const last = mean(a.slice(-4));
  assert.ok(last < first - 0.15, `loss fell only from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  const b = await shortRun(3);
  assert.deepEqual(b, a, "same seed, different losses");
});

test("a tiny fixed batch is learnt to 100% training accuracy", async () => {
  const cfg = tiny(4, 0);
  const indices = subset([0, 1, 2, 3], 2);
  const source = await openSource(fashionMnistSource(fm));
  const spec = { transform: { kind: "center-pad-crop", size: 32, pad: 2, ...norm } as const, numClasses: 4 };
  const fixed = await buildBatch(source, { seed: 0, epoch: 0, batch: 0, indices }, spec);
  const steps = 40;
  const train: TrainConfig = {
    epochs: steps,
    lr: 5e-3,
    minLr: 5e-3,
    warmupEpochs: 0,
    weightDecay: 0,
    accumulate: 1,
    emaDecay: null,
    layerDecay: null,
    seed: 0,
  };
  async function* same(): AsyncGenerator<Batch> {
    for (let epoch = 0; epoch < steps; epoch++) yield { ...fixed, epoch, batch: 0 };
  }
  const rng = new Rng(1);
  const trainer = await Trainer.create(
    convnextTrainable(cfg),
    initParams(cfg, () => rng.normal()),
    [8, 1, 32, 32],
    1,
    train,
    session,
  );
  const accuracy: number[] = [];
  await trainer.run(same(), { onStep: (s) => accuracy.push(s.accuracy) });
  assert.equal(accuracy.length, steps);
  assert.ok(accuracy[0] < 1, "the batch must not be solved from the start");
  const evaluator = await Evaluator.create(cfg, [32, 32], session);
  async function* once() {
    yield fixed;
  }
  const r = await evaluator.evaluate(trainer.params, once());
  assert.equal(r.n, 8);
  assert.equal(r.top1, 1, `training accuracy after ${steps} steps: ${r.top1}`);
  await evaluator.release();
  await trainer.release();
});
