/** Sessions on onnxruntime-web (WASM, optionally WebGPU), for browsers. */
import * as ort from "onnxruntime-web";
import { type OrtModule, Session, type SessionOptions } from "./session.ts";

export function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  return Session.create(ort as unknown as OrtModule, model, { ...opts, threads: opts.threads ?? 1 });
}
