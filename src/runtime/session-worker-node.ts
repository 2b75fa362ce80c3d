/**
 * Worker-thread side of WorkerSession: owns one onnxruntime session and runs it on request, so several sessions
 * can compute at once (onnxruntime-node runs a session on the calling JavaScript thread).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { createSession } from "./session-node.ts";
import type { SessionOptions } from "./session.ts";

export interface SessionWorkerInit {
  model: Uint8Array;
  options: SessionOptions;
}

export type SessionWorkerRequest = { id: number; feeds: Record<string, HostTensor>; fetches?: string[] };
export type SessionWorkerReply = { id: number; outputs?: Record<string, HostTensor>; error?: string };

const port = parentPort!;
const init = workerData as SessionWorkerInit;
const ready = createSession(init.model, init.options);

ready.then(
  () => port.postMessage({ id: 0, outputs: {} } satisfies SessionWorkerReply),
  (err: Error) => port.postMessage({ id: 0, error: err.message } satisfies SessionWorkerReply),
);

port.on("message", async (req: SessionWorkerRequest) => {
  try {
    const outputs = await (await ready).run(req.feeds, req.fetches);
    // Hand the output buffers over instead of copying them (each buffer once: outputs may share one).
    const buffers = new Set<ArrayBuffer>();
    for (const t of Object.values(outputs))
      if (t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer as ArrayBuffer);
    port.postMessage({ id: req.id, outputs } satisfies SessionWorkerReply, [...buffers]);
  } catch (err) {
    port.postMessage({ id: req.id, error: (err as Error).message } satisfies SessionWorkerReply);
  }
});
