/**
 * Batch loader: decoding and augmentation run in worker threads and the next batches are prefetched while the
 * engine runs the current step. Batches are identical for any number of workers (0 = build in this thread) and
 * after a resume, because every random draw is keyed by (seed, epoch, sample or batch index): see batch.ts.
 *
 * Default one worker: on a 2-core machine the other core belongs to onnxruntime.
 *
 * Samples that cannot be loaded are reported in `Batch.skipped`. With dropLast (training) every batch keeps
 * its size: the samples after the batch in the epoch order are its spares (batch.ts); otherwise (evaluation)
 * bad samples are dropped and a batch can shrink, to nothing.
 */

import type { Worker } from "node:worker_threads";
import { siblingModule, spawnWorker } from "../../runtime/spawn-worker-node.ts";
import {
  type Batch,
  type BatchKey,
  type BatchSpec,
  buildBatch,
  batchIndices,
  epochOrder,
  type SampleSource,
} from "./batch.ts";
import { openSource, type SourceSpec } from "./sources-node.ts";
import type { WorkerInit, WorkerJob } from "./worker-node.ts";

export interface LoaderOptions extends BatchSpec {
  source: SourceSpec;
  batchSize: number;
  seed: number;
  /** Data-set indices to draw from (e.g. a train split); default all. */
  indices?: ArrayLike<number>;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default: same as shuffle, i.e. on for training). */
  dropLast?: boolean;
  /** Worker threads (default 1; 0 = build batches on the calling thread). */
  workers?: number;
  /** Batches requested ahead of the one being consumed (default 2). */
  prefetch?: number;
}

/** Where an iteration starts: a resumed run passes the epoch and batch it stopped before. */
export interface LoaderPosition {
  epoch: number;
  batch: number;
}

interface Pending {
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
  worker: number;
}

export class BatchLoader {
  readonly batchSize: number;
  private readonly opts: LoaderOptions;
  private readonly pool: ArrayLike<number>;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private inline: Promise<SampleSource> | null = null;
  private orderCache: { epoch: number; order: Int32Array } | null = null;
  private closed = false;

  constructor(opts: LoaderOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    this.opts = opts;
    this.batchSize = opts.batchSize;
    const n = opts.source.labels.length;
    this.pool = opts.indices ?? Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < this.pool.length; i++) {
      if (!(this.pool[i] >= 0 && this.pool[i] < n))
        throw new Error(`loader index ${this.pool[i]} is outside the ${n} samples`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? this.shuffle;
    if (this.batchesPerEpoch() === 0)
      throw new Error(`${this.pool.length} samples make no batch of ${opts.batchSize}`);
    const count = opts.workers ?? 1;
    const init: WorkerInit = {
      source: opts.source,
      spec: {
        transform: opts.transform,
        numClasses: opts.numClasses,
        mixup: opts.mixup,
        labelSmoothing: opts.labelSmoothing,
      },
    };
    for (let w = 0; w < count; w++) {
      const worker = spawnWorker(siblingModule("./worker-node", import.meta.url), init);
      worker.on("message", (msg: { id: number; batch?: Batch; error?: string }) => this.settle(w, msg));
      worker.on("error", (err) => this.failWorker(w, err));
      worker.on("exit", (code) => {
        if (!this.closed) this.failWorker(w, new Error(`loader worker ${w} exited with code ${code}`));
      });
      worker.unref();
      this.workers.push(worker);
      this.busy.push(0);
    }
  }

  batchesPerEpoch(): number {
    const n = this.pool.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Batch `batch` of `epoch` (no prefetch; `batches()` is the fast path). */
  get(epoch: number, batch: number): Promise<Batch> {
    if (this.closed) return Promise.reject(new Error("batch loader is closed"));
    if (batch < 0 || batch >= this.batchesPerEpoch())
      return Promise.reject(new Error(`batch ${batch} is outside 0..${this.batchesPerEpoch() - 1}`));
    const key: BatchKey = { seed: this.opts.seed, epoch, batch, indices: this.indicesOf(epoch, batch) };
    if (this.dropLast) key.spares = this.sparesOf(epoch, batch);
    if (this.workers.length === 0) {
      this.inline ??= openSource(this.opts.source);
      return this.inline.then((src) => buildBatch(src, key, this.opts));
    }
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i] < this.busy[w]) w = i;
    if (this.busy[w] === Number.POSITIVE_INFINITY)
      return Promise.reject(new Error("every loader worker has failed"));
    const id = this.nextId++;
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      if (this.busy[w]++ === 0) this.workers[w].ref();
      this.workers[w].postMessage({ id, key } satisfies WorkerJob);
    });
  }

  /**
   * Batches in order from `start` (default epoch 0, batch 0) up to, not including, epoch `endEpoch` (default:
   * endless), keeping `prefetch` requests in flight.
   */
  async *batches(
    start: LoaderPosition = { epoch: 0, batch: 0 },
    endEpoch = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<Batch> {
    const perEpoch = this.batchesPerEpoch();
    let next = { ...start };
    const queue: Promise<Batch>[] = [];
    const depth = Math.max(1, this.opts.prefetch ?? 2);
    const fill = () => {
      while (queue.length < depth && next.epoch < endEpoch) {
        const p = this.get(next.epoch, next.batch);
        p.catch(() => {}); // rejections surface when awaited below
        queue.push(p);
        next =
          next.batch + 1 < perEpoch
            ? { epoch: next.epoch, batch: next.batch + 1 }
            : { epoch: next.epoch + 1, batch: 0 };
      }
    };
    fill();
    while (queue.length > 0) {
      const batch = await (queue.shift() as Promise<Batch>);
      fill();
      yield batch;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error("batch loader closed"));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private orderOf(epoch: number): Int32Array {
    if (this.orderCache?.epoch !== epoch)
      this.orderCache = { epoch, order: epochOrder(this.pool.length, this.opts.seed, epoch, this.shuffle) };
    return this.orderCache.order;
  }

  private indicesOf(epoch: number, batch: number): Int32Array {
    return batchIndices(
      this.pool,
      this.batchSize,
      this.opts.seed,
      epoch,
      batch,
      this.shuffle,
      this.dropLast,
      this.orderOf(epoch),
    );
  }

  /** The pool samples that follow batch `batch` in the epoch order (wrapping), two batches' worth at most. */
  private sparesOf(epoch: number, batch: number): Int32Array {
    const order = this.orderOf(epoch);
    const n = this.pool.length;
    const count = Math.min(n, 2 * this.batchSize);
    const end = (batch + 1) * this.batchSize;
    return Int32Array.from({ length: count }, (_, j) => this.pool[order[(end + j) % n]]);
  }

  private settle(w: number, msg: { id: number; batch?: Batch; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (--this.busy[w] === 0) this.workers[w].unref();
    if (msg.batch) p.resolve(msg.batch);
    else p.reject(new Error(msg.error ?? "loader worker failed"));
  }

  private failWorker(w: number, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    this.busy[w] = Number.POSITIVE_INFINITY; // never given work again
  }
}
