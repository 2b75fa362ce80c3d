/** Sessions on onnxruntime-node (native CPU kernels). */
import * as ort from "onnxruntime-node";
import { type OrtModule, Session, type SessionOptions } from "./session.ts";

export function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  return Session.create(ort as unknown as OrtModule, model, opts);
}
