/**
 * A worker thread that takes half of every AdamW update (AdamW.stepWithHelper): while the step's sessions idle,
 * the update runs on two threads instead of one.
 */
import { siblingModule, spawnWorker } from "../runtime/spawn-worker-node.ts";
import { WorkerCalls } from "../runtime/worker-calls-node.ts";
import type { AdamWHelper, AdamWJob, SharedAdamWArrays } from "./adamw.ts";
import type { AdamWWorkerReply, AdamWWorkerRequest } from "./adamw-worker-node.ts";

export class AdamWThread implements AdamWHelper {
  private constructor(private readonly calls: WorkerCalls<AdamWWorkerReply>) {}

  static start(arrays: SharedAdamWArrays[]): AdamWThread {
    const worker = spawnWorker(siblingModule("./adamw-worker-node", import.meta.url), arrays);
    return new AdamWThread(new WorkerCalls(worker, "AdamW worker"));
  }

  async run(jobs: AdamWJob[]): Promise<void> {
    if (jobs.length > 0) await this.calls.call((id) => ({ id, jobs }) satisfies AdamWWorkerRequest);
  }

  release(): Promise<void> {
    return this.calls.release();
  }
}
