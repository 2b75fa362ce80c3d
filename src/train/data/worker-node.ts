/**
 * Loader worker thread: opens the sample source once, then builds each batch it is sent and transfers the
 * arrays back (no copy). Started by loader-node.ts.
 */

import { parentPort, workerData } from "node:worker_threads";
import { type BatchKey, type BatchSpec, buildBatch } from "./batch.ts";
import { openSource, type SourceSpec } from "./sources-node.ts";

export interface WorkerInit {
  source: SourceSpec;
  spec: BatchSpec;
}

export interface WorkerJob {
  id: number;
  key: BatchKey;
}

const port = parentPort;
if (!port) throw new Error("worker-node.ts must run in a worker thread (it is started by the batch loader)");
const init = workerData as WorkerInit;
const sourcePromise = openSource(init.source);

port.on("message", async (job: WorkerJob) => {
  try {
    const batch = await buildBatch(await sourcePromise, job.key, init.spec);
    port.postMessage({ id: job.id, batch }, [
      batch.x.buffer,
      batch.targets.buffer,
      batch.labels.buffer,
    ] as ArrayBuffer[]);
  } catch (err) {
    port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
