/**
 * Requests to a worker thread and their replies, matched by id: what WorkerSession and AdamWThread share.
 * A worker that errors or exits fails every pending request and every later one; an idle worker does not keep
 * the process alive (a forgotten release() must not hang the program).
 */
import type { Worker } from "node:worker_threads";

/** A worker's reply: `error` set when the request failed. */
export interface WorkerReply {
  id: number;
  error?: string;
}

interface Pending<R> {
  resolve(reply: R): void;
  reject(err: Error): void;
}

export class WorkerCalls<R extends WorkerReply> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<R>>();
  private failure: Error | null = null;

  /** `what` names the worker in errors ("session worker"). */
  constructor(
    private readonly worker: Worker,
    private readonly what: string,
  ) {
    worker.on("message", (reply: R) => this.settle(reply));
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => this.fail(new Error(`${what} exited with code ${code}`)));
    this.updateRef();
  }

  /** Posts `make(id)` (with `transfer`) and resolves with the worker's reply to that id. */
  call(make: (id: number) => object, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const reply = this.expect(id);
    this.worker.postMessage(make(id), transfer);
    return reply;
  }

  /** The reply to `id`, for a message the worker sends unasked (a ready signal). */
  expect(id: number): Promise<R> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
    });
  }

  async release(): Promise<void> {
    this.failure ??= new Error(`${this.what} released`);
    await this.worker.terminate();
  }

  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private settle(reply: R): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.updateRef();
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
