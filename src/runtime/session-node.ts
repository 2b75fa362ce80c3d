/** Sessions on onnxruntime-node (native CPU kernels). */
import * as ort from "onnxruntime-node";
import { type OrtModule, Session, type SessionOptions } from "./session.ts";

// The process-wide logger, set before the first session starts it (see Session.create for the session's).
ort.env.logLevel = "fatal";

export function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  return Session.create(ort as unknown as OrtModule, model, opts);
}
