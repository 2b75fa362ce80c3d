/**
 * The training loop. One step: learning rate from the schedule → forward + backward in one onnxruntime run
 * (gradient accumulation sums micro-batches) → AdamW on the host → EMA → log; each epoch: evaluate and save.
 * Every random draw is keyed by (seed, epoch, batch) or (seed, step), so a resumed run repeats the exact steps
 * an uninterrupted one would have taken.
 */
import { float32, type Float32Tensor } from "../tensor/host-tensor.ts";
import type { AdamWState } from "./adamw.ts";
import type { Batch } from "./data/batch.ts";
import { Ema, type EmaState } from "./ema.ts";
import type { EvalResult } from "./evaluate.ts";
import { Rng } from "./rng.ts";
import { layerLrScales, learningRate } from "./schedule.ts";
import { type CreateSession, type StepEngine, StepRunner } from "./step-runner.ts";
import type { Trainable } from "./trainable.ts";

export interface TrainConfig {
  epochs: number;
  /** Peak learning rate (after warmup), per optimizer step. */
  lr: number;
  minLr: number;
  warmupEpochs: number;
  weightDecay: number;
  /** Micro-batches summed into one optimizer step. */
  accumulate: number;
  /** EMA decay per optimizer step; null = no EMA. */
  emaDecay: number | null;
  /** Layer-wise lr decay for fine-tuning (0.7–0.8); null = none. */
  layerDecay: number | null;
  seed: number;
}

/** Everything a checkpoint needs to continue exactly. */
export interface TrainState {
  /** Optimizer steps taken. */
  step: number;
  /** Where the next micro-batch comes from. */
  epoch: number;
  batch: number;
  params: Map<string, Float32Tensor>;
  optimizer: AdamWState;
  ema: EmaState | null;
}

export interface StepLog {
  step: number;
  epoch: number;
  batch: number;
  lr: number;
  loss: number;
  /** Training accuracy of the step's batch against its hard labels (0 with mixup). */
  accuracy: number;
  imagesPerSecond: number;
}

export interface TrainHooks {
  onStep?(log: StepLog): void;
  /** After each epoch, with the state to checkpoint; `evaluate` runs the validation set on demand. */
  onEpoch?(epoch: number, state: TrainState): Promise<void> | void;
  /** Polled between steps (Ctrl-C): returning true ends the run after saving through onStop. */
  shouldStop?(): boolean;
  onStop?(state: TrainState): Promise<void> | void;
}

export class NonFiniteLossError extends Error {}

export class Trainer {
  private step = 0;
  private position = { epoch: 0, batch: 0 };
  private ema: Ema | null;

  private constructor(
    readonly model: Trainable,
    readonly cfg: TrainConfig,
    private readonly runner: StepRunner,
    private readonly batchesPerEpoch: number,
  ) {
    this.ema = cfg.emaDecay === null ? null : new Ema(this.paramRecord(), cfg.emaDecay);
  }

  static async create(
    model: Trainable,
    params: Map<string, Float32Tensor>,
    batchShape: [number, number, number, number],
    batchesPerEpoch: number,
    cfg: TrainConfig,
    engine: StepEngine | CreateSession,
  ): Promise<Trainer> {
    const names = [...params.keys()];
    if (cfg.layerDecay !== null && !model.depths)
      throw new Error("layer-wise lr decay needs a ConvNeXt model");
    const lrScales =
      cfg.layerDecay === null
        ? undefined
        : new Map(layerLrScales(names, model.depths!, cfg.layerDecay).map((s, i) => [names[i], s]));
    const runner = await StepRunner.create(model, params, batchShape, engine, {
      weightDecay: cfg.weightDecay,
      lrScales,
    });
    return new Trainer(model, cfg, runner, batchesPerEpoch);
  }

  get params(): Map<string, Float32Tensor> {
    return this.runner.params;
  }

  /** Sessions splitting each batch (1 = no data parallelism). */
  get replicaCount(): number {
    return this.runner.replicaCount;
  }

  /** The weights to evaluate and ship: the EMA when there is one. */
  get evalParams(): Map<string, Float32Tensor> {
    if (!this.ema) return this.params;
    return new Map([...this.params].map(([k, p]) => [k, float32(p.dims, this.ema!.values.get(k)!)]));
  }

  private paramRecord(): Record<string, Float32Array> {
    return Object.fromEntries([...this.params].map(([k, v]) => [k, v.data]));
  }

  get totalSteps(): number {
    return Math.floor((this.cfg.epochs * this.batchesPerEpoch) / this.cfg.accumulate);
  }

  lrAt(step: number): number {
    const stepsPerEpoch = this.batchesPerEpoch / this.cfg.accumulate;
    return learningRate(
      {
        baseLr: this.cfg.lr,
        minLr: this.cfg.minLr,
        warmupSteps: Math.round(this.cfg.warmupEpochs * stepsPerEpoch),
        totalSteps: this.totalSteps,
      },
      step,
    );
  }

  state(): TrainState {
    return {
      step: this.step,
      epoch: this.position.epoch,
      batch: this.position.batch,
      params: this.params,
      optimizer: this.runner.optimizer.getState(),
      ema: this.ema?.getState() ?? null,
    };
  }

  /** Continues from a saved state (parameters are copied into the live buffers). */
  restore(s: TrainState): void {
    for (const [k, p] of this.params) {
      const saved = s.params.get(k);
      if (!saved || saved.data.length !== p.data.length)
        throw new Error(`resume: checkpoint lacks or mis-sizes '${k}'`);
      p.data.set(saved.data);
    }
    this.runner.optimizer.setState(s.optimizer);
    this.ema = s.ema ? Ema.fromState(s.ema) : null;
    this.step = s.step;
    this.position = { epoch: s.epoch, batch: s.batch };
  }

  get resumePosition(): { epoch: number; batch: number } {
    return { ...this.position };
  }

  /** Runs from the current position to the end, pulling micro-batches from `batches` (which must start there). */
  async run(batches: AsyncIterable<Batch>, hooks: TrainHooks = {}): Promise<TrainState> {
    const { accumulate } = this.cfg;
    let grads: Map<string, Float32Array> | null = null;
    let micro = 0;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let t0 = performance.now();
    // An epoch can end inside an accumulated step: report it after the step that crosses the boundary.
    let epochReported = this.position.epoch;
    for await (const b of batches) {
      if (this.step >= this.totalSteps) break;
      const rng = new Rng(this.cfg.seed, 7, this.step, micro); // drop-path masks
      const x = float32(b.dims, b.x);
      const r = await this.runner.gradients(x, float32([b.dims[0], this.model.numClasses], b.targets), rng);
      if (!Number.isFinite(r.loss)) {
        throw new NonFiniteLossError(
          `loss is ${r.loss} at step ${this.step + 1} (epoch ${b.epoch}, batch ${b.batch}); stopped, the last checkpoint is kept`,
        );
      }
      grads = accumulateGrads(grads, r.grads, accumulate);
      lossSum += r.loss;
      correct += countCorrect(r.logits.data, b.labels, this.model.numClasses);
      seen += b.dims[0];
      this.position =
        b.batch + 1 < this.batchesPerEpoch
          ? { epoch: b.epoch, batch: b.batch + 1 }
          : { epoch: b.epoch + 1, batch: 0 };
      if (++micro < accumulate) continue;

      const lr = this.lrAt(this.step);
      await this.runner.update(grads, lr);
      this.ema?.update(this.paramRecord());
      this.step++;
      const now = performance.now();
      hooks.onStep?.({
        step: this.step,
        epoch: b.epoch,
        batch: b.batch,
        lr,
        loss: lossSum / accumulate,
        accuracy: correct / seen,
        imagesPerSecond: (seen * 1000) / (now - t0),
      });
      t0 = now;
      grads = null;
      micro = 0;
      lossSum = 0;
      correct = 0;
      seen = 0;
      if (this.position.epoch > epochReported) {
        epochReported = this.position.epoch;
        await hooks.onEpoch?.(this.position.epoch - 1, this.state());
        t0 = performance.now(); // evaluation time is not training throughput
      }
      if (hooks.shouldStop?.()) {
        await hooks.onStop?.(this.state());
        break;
      }
    }
    return this.state();
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

/** Sums micro-batch gradients, each scaled by 1/n (the step's loss is the mean over micro-batches). */
function accumulateGrads(
  acc: Map<string, Float32Array> | null,
  g: Map<string, Float32Array>,
  n: number,
): Map<string, Float32Array> {
  if (n === 1) return g;
  const out = acc ?? new Map([...g].map(([k, v]) => [k, new Float32Array(v.length)]));
  for (const [k, v] of g) {
    const a = out.get(k)!;
    for (let i = 0; i < v.length; i++) a[i] += v[i] / n;
  }
  return out;
}

function countCorrect(logits: Float32Array, labels: ArrayLike<number>, k: number): number {
  let c = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let j = 1; j < k; j++) if (row[j] > row[best]) best = j;
    if (best === labels[i]) c++;
  }
  return c;
}

export type { EvalResult };
