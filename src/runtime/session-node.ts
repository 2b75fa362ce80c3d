/** Sessions on onnxruntime-node (native CPU kernels). */
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { type OrtModule, Session, type SessionOptions } from "./session.ts";
import { checkThreads } from "./threads.ts";

// The process-wide logger, set before the first session starts it (see Session.create for the session's).
ort.env.logLevel = "fatal";

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  checkThreads(opts.threads, availableParallelism());
  return Session.create(ort as unknown as OrtModule, model, opts);
}
