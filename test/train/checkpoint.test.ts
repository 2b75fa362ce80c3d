// Training checkpoints: save → load gives back every tensor and setting, and a run stopped, saved, loaded and
// resumed ends with the same bits as one that never stopped (EMA, drop path, and an accumulated step that
// crosses an epoch boundary included).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { saveSafetensors } from "../../src/checkpoint/load-node.ts";
import { tinyGrayConvNeXt } from "../tiny-model.ts";
import { initParams } from "../../src/models/init.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { loadTrainCheckpoint, saveTrainCheckpoint } from "../../src/train/checkpoint-node.ts";
import { BatchLoader } from "../../src/train/data/loader-node.ts";
import { Rng } from "../../src/train/rng.ts";
import { convnextTrainable } from "../../src/train/trainable.ts";
import { type TrainConfig, Trainer, type TrainState } from "../../src/train/trainer.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-ckpt-");

const cfg = tinyGrayConvNeXt({ depths: [1, 1, 2, 1], numClasses: 3, dropPathRate: 0.2 });
const train: TrainConfig = {
  epochs: 2,
  lr: 3e-3,
  minLr: 1e-5,
  warmupEpochs: 0.4,
  weightDecay: 0.05,
  accumulate: 2,
  emaDecay: 0.9,
  layerDecay: null,
  seed: 5,
};

// 80 synthetic 28×28 grey images in 3 classes: 5 batches of 16 per epoch, so step 3 spans epochs 0 and 1.
const N = 80;
const images = new Uint8Array(new SharedArrayBuffer(N * 28 * 28));
for (let i = 0; i < images.length; i++) images[i] = (i * 37 + Math.floor(i / 784) * 11) % 251;
const labels = Uint8Array.from({ length: N }, (_, i) => i % 3);
const loader = new BatchLoader({
  source: { kind: "arrays", images, labels, width: 28, height: 28, channels: 1 },
  batchSize: 16,
  seed: train.seed,
  transform: { kind: "pad-crop-flip", size: 32, pad: 4, reprob: 0.25, mean: [0.3], std: [0.35] },
  numClasses: 3,
  labelSmoothing: 0.1,
  workers: 0,
});
after(() => loader.close());
const session = (b: Uint8Array) => createSession(b, { threads: 1, spinning: false });

async function newTrainer(): Promise<Trainer> {
  const rng = new Rng(train.seed);
  return Trainer.create(
    convnextTrainable(cfg),
    initParams(cfg, () => rng.normal()),
    [16, 1, 32, 32],
    loader.batchesPerEpoch(),
    train,
    session,
  );
}

/** Every float of a state, in a fixed order, as bytes: equal means bit-identical. */
function stateBytes(s: TrainState): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const bytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  for (const [k, p] of s.params) out.set(`param ${k}`, Buffer.from(bytes(p.data)));
  for (const [k, v] of Object.entries(s.ema?.params ?? {})) out.set(`ema ${k}`, Buffer.from(bytes(v)));
  for (const [k, o] of Object.entries(s.optimizer.params)) {
    out.set(`m ${k}`, Buffer.from(bytes(o.m)));
    out.set(`v ${k}`, Buffer.from(bytes(o.v)));
  }
  return out;
}

function assertSameState(a: TrainState, b: TrainState): void {
  assert.deepEqual([b.step, b.epoch, b.batch], [a.step, a.epoch, a.batch]);
  assert.equal(b.ema?.updates, a.ema?.updates);
  const x = stateBytes(a);
  const y = stateBytes(b);
  assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
  for (const [k, v] of x) assert.ok(v.equals(y.get(k)!), `${k} differs`);
  for (const [k, o] of Object.entries(a.optimizer.params))
    assert.equal(b.optimizer.params[k].step, o.step, k);
}

test("stop after 2 steps, save, load, resume: bit-identical to the uninterrupted run", async () => {
  const whole = await newTrainer();
  const epochsSeen: number[] = [];
  const full = await whole.run(loader.batches({ epoch: 0, batch: 0 }, train.epochs), {
    onEpoch: (e) => {
      epochsSeen.push(e);
    },
  });
  assert.equal(full.step, 5);
  assert.deepEqual(epochsSeen, [0, 1], "an epoch ending inside an accumulated step is still reported");

  const first = await newTrainer();
  let steps = 0;
  const path = join(tmp, "checkpoint.safetensors");
  await first.run(loader.batches({ epoch: 0, batch: 0 }, train.epochs), {
    onStep: () => {
      steps++;
    },
    shouldStop: () => steps === 2,
    onStop: (s) => saveTrainCheckpoint(path, { state: s, config: cfg, train, run: { note: "x" }, extra: {} }),
  });
  await first.release();

  const ckpt = await loadTrainCheckpoint<{ note: string }>(path);
  assert.deepEqual([ckpt.state.step, ckpt.state.epoch, ckpt.state.batch], [2, 0, 4]);
  assert.deepEqual(ckpt.config, cfg);
  assert.deepEqual(ckpt.train, train);
  assert.deepEqual(ckpt.run, { note: "x" });
  const second = await newTrainer();
  second.restore(ckpt.state);
  const resumed = await second.run(loader.batches(second.resumePosition, train.epochs));
  assertSameState(full, resumed);
  await second.release();
  await whole.release();
});

test("save → load round-trips every tensor and setting; a plain weights file is refused by name", async () => {
  const t = await newTrainer();
  let n = 0;
  await t.run(loader.batches({ epoch: 0, batch: 0 }, train.epochs), {
    onStep: () => {
      n++;
    },
    shouldStop: () => n === 1,
  });
  const state = t.state();
  const path = join(tmp, "roundtrip.safetensors");
  await saveTrainCheckpoint(path, {
    state,
    config: cfg,
    train,
    run: [1, 2],
    extra: { labels: '["a","b","c"]' },
  });
  const back = await loadTrainCheckpoint(path);
  assertSameState(state, back.state);
  assert.equal(back.state.ema?.decay, 0.9);
  assert.deepEqual(back.state.optimizer.betas, state.optimizer.betas);
  assert.equal(back.extra.labels, '["a","b","c"]');
  await t.release();

  const weights = join(tmp, "weights.safetensors");
  await saveSafetensors(weights, state.params, { format: "pt" });
  await assert.rejects(loadTrainCheckpoint(weights), /weights\.safetensors: not a training checkpoint/);
  writeFileSync(join(tmp, "junk.safetensors"), "not safetensors");
  await assert.rejects(loadTrainCheckpoint(join(tmp, "junk.safetensors")), /junk\.safetensors/);
  await assert.rejects(
    loadTrainCheckpoint(join(tmp, "missing.safetensors")),
    /missing\.safetensors: .*no such file/,
  );
});
