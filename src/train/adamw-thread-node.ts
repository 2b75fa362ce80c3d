/**
 * A worker thread that takes half of every AdamW update (AdamW.stepWithHelper): while the step's sessions idle,
 * the update runs on two threads instead of one.
 */
import type { Worker } from "node:worker_threads";
import { siblingModule, spawnWorker } from "../runtime/spawn-worker-node.ts";
import type { AdamWHelper, AdamWJob, SharedAdamWArrays } from "./adamw.ts";
import type { AdamWWorkerReply, AdamWWorkerRequest } from "./adamw-worker-node.ts";

export class AdamWThread implements AdamWHelper {
  private nextId = 1;
  private pending: { id: number; resolve(): void; reject(err: Error): void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (reply: AdamWWorkerReply) => this.settle(reply));
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => this.fail(new Error(`AdamW worker exited with code ${code}`)));
    // An idle worker does not keep the process alive (a forgotten release() must not hang the program).
    worker.unref();
  }

  static start(arrays: SharedAdamWArrays[]): AdamWThread {
    return new AdamWThread(spawnWorker(siblingModule("./adamw-worker-node", import.meta.url), arrays));
  }

  run(jobs: AdamWJob[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error("AdamW worker: one update at a time"));
    if (jobs.length === 0) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.worker.ref();
      this.worker.postMessage({ id, jobs } satisfies AdamWWorkerRequest);
    });
  }

  async release(): Promise<void> {
    this.failure ??= new Error("AdamW worker released");
    await this.worker.terminate();
  }

  private settle(reply: AdamWWorkerReply): void {
    const p = this.pending;
    if (!p || p.id !== reply.id) return;
    this.pending = null;
    this.worker.unref();
    if (reply.error) p.reject(new Error(`AdamW worker: ${reply.error}`));
    else p.resolve();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.pending?.reject(err);
    this.pending = null;
  }
}
