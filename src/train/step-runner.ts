/**
 * Runs training steps: parameters live on the host (Float32Arrays, timm names); each step feeds them with the
 * batch to the one-graph forward+backward session, then AdamW updates them in place on the host.
 * NOTE: the update runs in TypeScript, not in the graph: it keeps optimizer state, EMA and checkpoints host-side
 * and computes each value in double, rounded once. With half of it on a worker thread (the Node engine's
 * `optimizerThread`) it is also faster than the update as an onnxruntime graph (flat tensors, results copied
 * back): 23-29 vs 40-42 ms for convnext_atto's 3.7M parameters, 133-198 vs 275-365 ms for convnext_tiny's 28.6M
 * (`npm run bench -- adamw-placement`, two runs).
 *
 * Data parallelism: with replicas, each of k sessions (one thread each) runs 1/k of every batch and the step
 * averages their losses and gradients. On small images this beats one k-thread session, whose thread pool
 * idles through the many small kernels; on ImageNet-sized ones it barely does (bench/train-throughput.ts).
 * With replicas or an optimizer thread, the parameters live in SharedArrayBuffers (the map's entries are replaced
 * by tensors there, once), so other threads read and update them in place instead of receiving copies each step.
 */
import type { RunnableSession } from "../runtime/session.ts";
import type { Float32Tensor, HostTensor } from "../tensor/host-tensor.ts";
import { float32, StagingArrays } from "../tensor/host-tensor.ts";
import { AdamW, type AdamWConfig, type AdamWHelper, type SharedAdamWArrays } from "./adamw.ts";
import type { Rng } from "./rng.ts";
import { buildTrainStep, type TrainStepGraph, type TrainStepOptions } from "./step-graph.ts";
import type { Trainable } from "./trainable.ts";

export interface StepResult {
  loss: number;
  logits: Float32Tensor;
  grads: Map<string, Float32Array>;
}

export type CreateSession = (onnx: Uint8Array) => Promise<RunnableSession>;

/** Where step graphs run: one session, or replicas of it that split every batch. */
export interface StepEngine {
  /** A session using all the engine's threads. */
  session: CreateSession;
  /** Sessions that compute at the same time (each on its own thread), `count` of them. */
  replicas?: { count: number; session: CreateSession };
  /**
   * A thread that takes half of every AdamW update (AdamW.stepWithHelper) while the sessions' threads idle
   * between steps; the parameters then move into shared memory.
   */
  optimizerThread?: (arrays: SharedAdamWArrays[]) => AdamWHelper & { release(): Promise<void> };
  /** Step-graph lowerings only this engine's sessions run (onnxruntime-node's NCHWc kernels, say). */
  graphOptions?: () => Promise<TrainStepOptions>;
}

export class StepRunner {
  readonly optimizer: AdamW;
  /** Each step's batch, copied into shared memory for the replicas. */
  private readonly batchStaging = new StagingArrays(true);
  private readonly optimizerThread: (AdamWHelper & { release(): Promise<void> }) | undefined;

  private constructor(
    readonly model: Trainable,
    readonly params: Map<string, Float32Tensor>,
    private readonly graph: TrainStepGraph,
    private readonly sessions: RunnableSession[],
    adamw: AdamWConfig & { lrScales?: Map<string, number> },
    optimizerThread?: StepEngine["optimizerThread"],
  ) {
    this.optimizer = new AdamW(
      [...graph.params.keys()].map((name) => {
        const p = params.get(name);
        if (!p) throw new Error(`parameters lack '${name}'`);
        return { name, data: p.data, dims: p.dims, lrScale: adamw.lrScales?.get(name) };
      }),
      adamw,
      { shared: !!optimizerThread },
    );
    this.optimizerThread = optimizerThread?.(this.optimizer.sharedArrays());
  }

  static async create(
    model: Trainable,
    params: Map<string, Float32Tensor>,
    batchShape: [number, number, number, number],
    engine: StepEngine | CreateSession,
    adamw: AdamWConfig & { lrScales?: Map<string, number> } = {},
    graphOptions: TrainStepOptions = {},
  ): Promise<StepRunner> {
    const { session, replicas, optimizerThread } =
      typeof engine === "function"
        ? { session: engine, replicas: undefined, optimizerThread: undefined }
        : engine;
    if (typeof engine !== "function" && engine.graphOptions)
      graphOptions = { ...(await engine.graphOptions()), ...graphOptions };
    const k = replicas?.count ?? 1;
    if (replicas && k > 1 && batchShape[0] % k === 0) {
      // Replicas run on one thread each: their graphs get nothing split over threads.
      const graph = buildTrainStep(model, [batchShape[0] / k, ...batchShape.slice(1)] as typeof batchShape, {
        ...graphOptions,
        sessionThreads: 1,
      });
      // Batch statistics (BatchNorm) of a split batch are not those of the whole: such models run whole.
      if (graph.state.length === 0) {
        const sessions = await Promise.all(Array.from({ length: k }, () => replicas.session(graph.onnx)));
        moveToSharedMemory(params, [...graph.params.keys()]);
        return new StepRunner(model, params, graph, sessions, adamw, optimizerThread);
      }
    }
    const graph = buildTrainStep(model, batchShape, graphOptions);
    const one = await session(graph.onnx);
    if (optimizerThread) moveToSharedMemory(params, [...graph.params.keys()]);
    return new StepRunner(model, params, graph, [one], adamw, optimizerThread);
  }

  /** The whole batch one step takes. */
  get batchShape(): number[] {
    return [this.graph.batchShape[0] * this.sessions.length, ...this.graph.batchShape.slice(1)];
  }

  /** Sessions splitting each batch (1 = no data parallelism). */
  get replicaCount(): number {
    return this.sessions.length;
  }

  /** Forward + backward on one batch; `rng` draws the drop-path masks (needed when dropPathRate > 0). */
  async gradients(x: HostTensor, targets: Float32Tensor, rng?: Rng): Promise<StepResult> {
    const n = this.batchShape[0];
    const common: Record<string, HostTensor> = {};
    for (const name of [...this.graph.params.keys(), ...this.graph.state]) {
      const p = this.params.get(name);
      if (!p) throw new Error(`parameters lack '${name}'`);
      common[name] = p;
    }
    const batched: Record<string, HostTensor> = { x, targets };
    for (const { name, keep } of this.graph.dropPath) {
      if (!rng) throw new Error("drop path needs a random generator");
      batched[name] = float32(
        [n, 1, 1, 1],
        Float32Array.from({ length: n }, () => (rng.uniform() < keep ? 1 / keep : 0)),
      );
    }
    const k = this.sessions.length;
    // Replicas get their share of the batch as views of one shared copy: no copy per replica on this thread
    // while the others wait to start.
    const whole = k > 1 ? this.staged(batched) : batched;
    const outs = await Promise.all(
      this.sessions.map((s, i) => s.run({ ...common, ...batchSlices(whole, i, k) })),
    );
    const grads = new Map<string, Float32Array>();
    for (const name of this.graph.params.keys())
      grads.set(name, meanOf(outs.map((o) => o[`grad.${name}`].data as Float32Array)));
    // Running statistics move with every forward pass in training mode, whatever the optimizer does.
    for (const name of this.graph.state)
      this.params.get(name)!.data.set(outs[0][`state.${name}`].data as Float32Array);
    const losses = outs.map((o) => (o.loss.data as Float32Array)[0]);
    return {
      loss: losses.reduce((a, b) => a + b, 0) / k,
      logits: concatBatches(outs.map((o) => o.logits as Float32Tensor)),
      grads,
    };
  }

  private staged(feeds: Record<string, HostTensor>): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(feeds))
      out[name] = { ...t, data: this.batchStaging.copy(name, t.data) };
    return out;
  }

  /** One optimizer step: gradients, then AdamW at learning rate `lr`. */
  async step(x: HostTensor, targets: Float32Tensor, lr: number, rng?: Rng): Promise<StepResult> {
    const r = await this.gradients(x, targets, rng);
    await this.update(r.grads, lr);
    return r;
  }

  /** AdamW at learning rate `lr` with these gradients, on two threads when the engine gave the optimizer one. */
  async update(grads: ReadonlyMap<string, Float32Array>, lr: number): Promise<void> {
    if (this.optimizerThread) await this.optimizer.stepWithHelper(grads, lr, this.optimizerThread);
    else this.optimizer.step(grads, lr);
  }

  async release(): Promise<void> {
    await Promise.all([...this.sessions.map((s) => s.release()), this.optimizerThread?.release()]);
  }
}

/**
 * Re-homes the named parameters in SharedArrayBuffers (same map, new tensors holding copies): the replicas'
 * workers and the optimizer's thread then work on them in place, instead of on a copy sent each step.
 */
function moveToSharedMemory(params: Map<string, Float32Tensor>, names: string[]): void {
  const shared = new StagingArrays(true);
  for (const name of names) {
    const p = params.get(name);
    if (!p || p.data.buffer instanceof SharedArrayBuffer) continue;
    params.set(name, { ...p, data: shared.copy(name, p.data) });
  }
}

/** Part `i` of `k` equal parts of every tensor's batch (first) axis. */
function batchSlices(feeds: Record<string, HostTensor>, i: number, k: number): Record<string, HostTensor> {
  if (k === 1) return feeds;
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const rows = t.dims[0] / k;
    const rowSize = t.data.length / t.dims[0];
    const data = t.data.subarray(i * rows * rowSize, (i + 1) * rows * rowSize) as typeof t.data;
    out[name] = { ...t, dims: [rows, ...t.dims.slice(1)], data };
  }
  return out;
}

/**
 * The replicas' gradients averaged (each is the mean over its equal share of the batch), summed into the first
 * part, which the worker handed over: no fresh array per parameter per step. The last part is added and the sum
 * scaled in one pass (rounded to float32 in between, as a store would: the same values as two passes): these
 * passes run on the main thread while the other cores wait, 260 → 151 ms for convnext_tiny's 28.6 M values.
 */
function meanOf(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const [sum, ...others] = parts;
  const last = others.pop() as Float32Array;
  for (const p of others) for (let j = 0; j < sum.length; j++) sum[j] += p[j];
  const scale = 1 / parts.length;
  for (let j = 0; j < sum.length; j++) sum[j] = Math.fround(sum[j] + last[j]) * scale;
  return sum;
}

function concatBatches(parts: Float32Tensor[]): Float32Tensor {
  if (parts.length === 1) return parts[0];
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return float32([parts.reduce((a, p) => a + p.dims[0], 0), ...parts[0].dims.slice(1)], data);
}
