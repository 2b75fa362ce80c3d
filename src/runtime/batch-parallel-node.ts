/**
 * A batch spread over sessions on worker threads (one single-thread session per core by default), each taking the
 * next few images of the batch until none are left; the outputs are joined in batch order.
 *
 * Why: one session with two threads runs a ConvNeXt batch no cheaper per image than one image (ConvNeXt-T 224²:
 * the GEMMs run near the FMA peak already at batch 1, and a large batch pushes every pass over the 4C-wide
 * hidden tensor out of the cache), while two single-thread sessions each working on one image at a time keep
 * batch 1's cache behaviour and need no synchronisation between the threads. Measured in
 * docs/inference/README.md (`npm run bench -- inference`).
 */
import { type HostTensor, numel } from "../tensor/host-tensor.ts";
import type { RunnableSession } from "./session.ts";
import { WorkerSession } from "./worker-session-node.ts";

export class BatchParallelSession implements RunnableSession {
  private constructor(
    private readonly workers: RunnableSession[],
    private readonly imagesPerRun: number,
  ) {}

  /**
   * Runs batches over sessions that exist already, `imagesPerRun` images at a time. Over one single-thread
   * session this is a batch cut into small runs, which on one core is cheaper per image than the whole batch
   * at once (ConvNeXt-T 224²: 64 vs 80 ms per image, docs/inference/README.md).
   */
  static over(sessions: RunnableSession[], imagesPerRun: number): BatchParallelSession {
    if (sessions.length === 0) throw new Error("no sessions");
    return new BatchParallelSession(sessions, Math.max(1, Math.floor(imagesPerRun)));
  }

  /**
   * `workers` sessions of `model` with `threadsPerWorker` threads each (default 1); each run hands a worker
   * `imagesPerRun` images at a time (fewer when the batch is too small to give every worker that many). With
   * `handOver` the last worker takes `model`'s own bytes (the caller's array is left empty) and the others a copy
   * each; without, every worker gets a copy.
   */
  static async create(
    model: Uint8Array,
    workers: number,
    imagesPerRun = 1,
    threadsPerWorker = 1,
    opts: { handOver?: boolean } = {},
  ): Promise<BatchParallelSession> {
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers must be a positive integer, got ${workers}`);
    const threads = Math.max(1, Math.floor(threadsPerWorker));
    const settled = await Promise.allSettled(
      Array.from({ length: workers }, (_, k) =>
        WorkerSession.create(
          // `new Uint8Array(model)` copies; `model.slice()` would not on a Node Buffer.
          opts.handOver && k === workers - 1 ? model : new Uint8Array(model),
          { threads, spinning: false },
          { handOver: true },
        ),
      ),
    );
    const ready = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) {
      await Promise.all(ready.map((w) => w.release()));
      throw failed.reason;
    }
    return new BatchParallelSession(ready, Math.max(1, Math.floor(imagesPerRun)));
  }

  /**
   * Runs every feed whose first axis is the batch (the one of the first feed) split along that axis; other feeds
   * go whole to every run. Every output must have the batch as its first axis.
   */
  async run(
    feeds: Record<string, HostTensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const entries = Object.entries(feeds);
    if (entries.length === 0) throw new Error("no feeds");
    const batch = entries[0][1].dims[0];
    if (!(batch >= 1)) throw new Error(`a batch needs at least one image, got ${batch}`);
    const per = Math.max(1, Math.min(this.imagesPerRun, Math.ceil(batch / this.workers.length)));
    const starts = Array.from({ length: Math.ceil(batch / per) }, (_, i) => i * per);
    const parts: Record<string, HostTensor>[] = new Array(starts.length);
    let next = 0;
    const work = async (worker: RunnableSession) => {
      while (next < starts.length) {
        const k = next++;
        const [from, to] = [starts[k], Math.min(batch, starts[k] + per)];
        const slice = Object.fromEntries(
          entries.map(([name, t]) => [name, t.dims[0] === batch ? rows(t, from, to) : t]),
        );
        try {
          parts[k] = await worker.run(slice, fetches);
        } catch (err) {
          next = starts.length; // the batch has failed: the other workers take no more runs
          throw err;
        }
      }
    };
    await Promise.all(this.workers.map(work));
    return Object.fromEntries(
      Object.keys(parts[0]).map((name) => [name, joinRows(parts.map((p) => p[name]))]),
    );
  }

  async release(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.release()));
  }
}

/** Rows [from, to) of the first axis, as a view. */
function rows(t: HostTensor, from: number, to: number): HostTensor {
  const row = numel(t.dims.slice(1));
  return {
    ...t,
    dims: [to - from, ...t.dims.slice(1)],
    data: t.data.subarray(from * row, to * row),
  } as HostTensor;
}

/** The parts joined along the first axis. */
function joinRows(parts: HostTensor[]): HostTensor {
  const [first] = parts;
  const rest = first.dims.slice(1);
  const total = parts.reduce((n, p) => n + p.dims[0], 0);
  const Data = first.data.constructor as new (n: number) => typeof first.data;
  const data = new Data(total * numel(rest));
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { ...first, dims: [total, ...rest], data } as HostTensor;
}
