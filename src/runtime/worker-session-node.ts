/**
 * A session on its own worker thread. onnxruntime-node computes on the JavaScript thread that calls run(), so
 * two sessions in one thread take turns; on their own threads they compute at the same time. Feeds are copied
 * to the worker (structured clone), except those in a SharedArrayBuffer, and outputs are handed back without a
 * copy.
 */
import type { Worker } from "node:worker_threads";
import { type HostTensor, newArrayLike } from "../tensor/host-tensor.ts";
import type { RunnableSession, SessionOptions } from "./session.ts";
import type { SessionWorkerInit, SessionWorkerReply, SessionWorkerRequest } from "./session-worker-node.ts";
import { siblingModule, spawnWorker } from "./spawn-worker-node.ts";

interface Pending {
  resolve(outputs: Record<string, HostTensor>): void;
  reject(err: Error): void;
}

export class WorkerSession implements RunnableSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (reply: SessionWorkerReply) => this.settle(reply));
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => this.fail(new Error(`session worker exited with code ${code}`)));
  }

  // An idle worker does not keep the process alive (a forgotten release() must not hang the program).
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  /**
   * With `handOver`, `model`'s bytes move to the worker (the caller's array is left empty) instead of being
   * copied: structured-cloning ConvNeXt-T's 114 MB took ~1.5 s here, most of it allocating fresh pages.
   */
  static create(
    model: Uint8Array,
    options: SessionOptions = {},
    opts: { handOver?: boolean } = {},
  ): Promise<WorkerSession> {
    const whole = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength;
    // A copy, never `model.slice()`: on a Node Buffer that is a view of the same memory.
    const bytes = opts.handOver && !whole ? new Uint8Array(model) : model;
    const init: SessionWorkerInit = { model: bytes, options };
    const transfer = opts.handOver && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
    const session = new WorkerSession(
      spawnWorker(siblingModule("./session-worker-node", import.meta.url), init, transfer),
    );
    // id 0 answers when the worker's session exists (or could not be created).
    const ready = new Promise<void>((resolve, reject) => {
      session.pending.set(0, { resolve: () => resolve(), reject });
    });
    return ready.then(
      () => {
        session.updateRef();
        return session;
      },
      async (err: Error) => {
        await session.worker.terminate();
        throw err;
      },
    );
  }

  run(feeds: Record<string, HostTensor>, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const request: SessionWorkerRequest = {
      id,
      feeds: compactFeeds(feeds),
      fetches: fetches && [...fetches],
    };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage(request);
    });
  }

  async release(): Promise<void> {
    this.failure ??= new Error("session released");
    await this.worker.terminate();
  }

  private settle(reply: SessionWorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.updateRef();
    if ("error" in reply) p.reject(new Error(reply.error));
    else p.resolve(reply.outputs);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * Structured clone copies a typed array's whole underlying buffer, so a view into a larger one (a tensor read
 * from a checkpoint file, a slice of a batch) is cut out first. A feed in a SharedArrayBuffer is not copied at
 * all: the worker sees the same memory.
 */
function compactFeeds(feeds: Record<string, HostTensor>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const whole = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength;
    const shared = t.data.buffer instanceof SharedArrayBuffer;
    // A copy, never `.slice()`: on a Node Buffer that is a view of the same memory.
    out[name] = whole || shared ? t : ({ ...t, data: copyOf(t.data) } as HostTensor);
  }
  return out;
}

function copyOf(data: HostTensor["data"]): HostTensor["data"] {
  return newArrayLike(data, data);
}
