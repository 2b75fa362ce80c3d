/**
 * Worker-thread side of AdamWThread: updates its share of every large parameter (AdamW.stepWithHelper) on the
 * shared arrays it was given once, so only the job list crosses threads each step.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type AdamWJob, adamwUpdate, type SharedAdamWArrays } from "./adamw.ts";

export type AdamWWorkerRequest = { id: number; jobs: AdamWJob[] };
export type AdamWWorkerReply = { id: number; error?: string };

const port = parentPort!;
const arrays = workerData as SharedAdamWArrays[];

port.on("message", ({ id, jobs }: AdamWWorkerRequest) => {
  try {
    for (const { index, start, end, step, hyper } of jobs) {
      const { p, g, m, v } = arrays[index];
      // The staged gradient holds just this share, from its own index 0.
      const range = (a: Float32Array) => a.subarray(start, end);
      adamwUpdate(range(p), g.subarray(0, end - start), range(m), range(v), step, hyper);
    }
    port.postMessage({ id } satisfies AdamWWorkerReply);
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message } satisfies AdamWWorkerReply);
  }
});
