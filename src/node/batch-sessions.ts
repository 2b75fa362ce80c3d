/**
 * Which sessions run a batch, and keeping them: one session with all the threads, or the batch cut into runs of
 * a few images (runtime/batch-parallel-node.ts) — on one thread in one session, on several threads over one
 * single-thread worker session per thread. Shared by models built from weights and by exported .onnx files.
 * Measured (ConvNeXt-T 224², `npm run bench -- inference`, docs/inference/README.md): batch 32 on 2 threads costs
 * 35 ms per image over two worker sessions against 43 ms as one 2-thread session and 48 ms at batch 1; on 1
 * thread, 64 ms per image in runs of one image against 80 ms as one batch.
 */
import { availableParallelism } from "node:os";
import type { ConvNeXtConfig } from "../models/config.ts";
import { imageMacs } from "../models/count.ts";
import { BatchParallelSession } from "../runtime/batch-parallel-node.ts";
import type { RunnableSession } from "../runtime/session.ts";
import { createSession } from "../runtime/session-node.ts";
import { checkThreads } from "../runtime/threads.ts";

/**
 * Batches of at least this much work run over worker sessions: below it (the bundled Fashion-MNIST model's
 * batches, one photo) starting the workers costs more than they save.
 */
const PARALLEL_MIN_MACS = 1e9;
/**
 * Images per run of a cut batch: enough work that each run's fixed cost (and a worker's message each way) is
 * small, few enough that the run's activations stay in the caches about as well as one image's.
 */
const MACS_PER_RUN = 5e8;
/** At most this many worker sessions, and their copies of the weights together at most this many bytes. */
const MAX_WORKERS = 4;
const MAX_WORKER_WEIGHT_BYTES = 2 ** 31;

/**
 * Worker sessions for one batch: one per thread (at most MAX_WORKERS, the batch size, and as many as the
 * weights' copies allow) when there are two threads or more and the batch holds enough work; else 1, meaning
 * no workers.
 */
export function batchWorkerCount(opts: {
  threads: number;
  batch: number;
  macsPerImage: number;
  weightBytes: number;
  /** Runs of one image each: single-thread workers beat one session's threads on any batch then. */
  imagePerRun?: boolean;
}): number {
  const { threads, batch, macsPerImage, weightBytes } = opts;
  if (threads < 2 || batch < 2) return 1;
  if (!opts.imagePerRun && batch * macsPerImage < PARALLEL_MIN_MACS) return 1;
  return Math.max(
    1,
    Math.min(threads, batch, MAX_WORKERS, Math.floor(MAX_WORKER_WEIGHT_BYTES / weightBytes)),
  );
}

export class BatchSessions {
  private readonly sessions = new Map<string, Promise<RunnableSession>>();
  private readonly macsPerImage = new Map<string, number>();

  /**
   * `threads`: onnxruntime threads in all (default: all cores); `weightBytes`: the size of one copy of the
   * weights, which each worker session holds; `onnxIsFresh`: each call of get's `onnx()` makes new bytes, which
   * a worker may then take instead of a copy; `imagePerRun`: every run holds one image whatever the batch —
   * for int8 graphs, which quantize each layer's input over the whole run, so that an image's answer does not
   * depend on the images beside it (nor a NaN in one image spread to the others).
   */
  constructor(
    private readonly config: ConvNeXtConfig,
    private readonly weightBytes: number,
    private readonly threads?: number,
    private readonly onnxIsFresh = false,
    private readonly imagePerRun = false,
  ) {
    checkThreads(threads, availableParallelism());
  }

  /** The session for a batch of `batch` images of h × w running graph `key`, made from `onnx()` on first use. */
  get(key: string, onnx: () => Uint8Array, batch: number, h: number, w: number): Promise<RunnableSession> {
    const threads = this.threads ?? availableParallelism();
    const macs = this.macs(h, w);
    const workers = batchWorkerCount({
      threads,
      batch,
      macsPerImage: macs,
      weightBytes: this.weightBytes,
      imagePerRun: this.imagePerRun,
    });
    const mode = threads === 1 ? "runs" : workers > 1 ? `workers${workers}` : "one";
    const id = `${key}|${mode}`;
    let s = this.sessions.get(id);
    if (!s) {
      const perRun = this.imagePerRun ? 1 : Math.ceil(MACS_PER_RUN / macs);
      if (mode === "runs") {
        s = createSession(onnx(), { threads: 1 }).then((one) => BatchParallelSession.over([one], perRun));
      } else if (workers > 1) {
        s = BatchParallelSession.create(onnx(), workers, perRun, Math.floor(threads / workers), {
          handOver: this.onnxIsFresh,
        });
      } else if (this.imagePerRun) {
        s = createSession(onnx(), { threads: this.threads }).then((one) =>
          BatchParallelSession.over([one], 1),
        );
      } else {
        s = createSession(onnx(), { threads: this.threads });
      }
      // A session that failed to start is not kept: the next call tries again and reports its own error.
      s.catch(() => this.sessions.delete(id));
      this.sessions.set(id, s);
    }
    return s;
  }

  private macs(h: number, w: number): number {
    const key = `${h}x${w}`;
    let macs = this.macsPerImage.get(key);
    if (macs === undefined) {
      macs = imageMacs(this.config, h, w);
      this.macsPerImage.set(key, macs);
    }
    return macs;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === "fulfilled") await s.value.release();
  }
}
