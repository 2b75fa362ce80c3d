/**
 * A session on its own worker thread. onnxruntime-node computes on the JavaScript thread that calls run(), so
 * two sessions in one thread take turns; on their own threads they compute at the same time. Feeds are copied
 * to the worker (structured clone), except those in a SharedArrayBuffer, and outputs are handed back without a
 * copy.
 */
import { type HostTensor, newArrayLike } from "../tensor/host-tensor.ts";
import type { RunnableSession, SessionOptions } from "./session.ts";
import type { SessionWorkerInit, SessionWorkerReply, SessionWorkerRequest } from "./session-worker-node.ts";
import { siblingModule, spawnWorker } from "./spawn-worker-node.ts";
import { WorkerCalls } from "./worker-calls-node.ts";

export class WorkerSession implements RunnableSession {
  private constructor(private readonly calls: WorkerCalls<SessionWorkerReply>) {}

  /**
   * With `handOver`, `model`'s bytes move to the worker (the caller's array is left empty) instead of being
   * copied: structured-cloning ConvNeXt-T's 114 MB took ~1.5 s here, most of it allocating fresh pages.
   */
  static async create(
    model: Uint8Array,
    options: SessionOptions = {},
    opts: { handOver?: boolean } = {},
  ): Promise<WorkerSession> {
    const whole = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength;
    // A copy, never `model.slice()`: on a Node Buffer that is a view of the same memory.
    const bytes = opts.handOver && !whole ? new Uint8Array(model) : model;
    const init: SessionWorkerInit = { model: bytes, options };
    const transfer = opts.handOver && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
    const calls = new WorkerCalls<SessionWorkerReply>(
      spawnWorker(siblingModule("./session-worker-node", import.meta.url), init, transfer),
      "session worker",
    );
    try {
      // id 0 answers when the worker's session exists (or could not be created).
      await calls.expect(0);
    } catch (err) {
      await calls.release();
      throw err;
    }
    return new WorkerSession(calls);
  }

  async run(
    feeds: Record<string, HostTensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const reply = await this.calls.call(
      (id) =>
        ({ id, feeds: compactFeeds(feeds), fetches: fetches && [...fetches] }) satisfies SessionWorkerRequest,
    );
    return reply.outputs ?? {};
  }

  release(): Promise<void> {
    return this.calls.release();
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
