/**
 * Where training steps run on Node: one session using `threads` threads, or `replicas` single-thread sessions
 * on worker threads, each taking an equal share of every batch (data parallelism). Replicas pay off where one
 * session's thread pool idles through many small kernels (small images: the Fashion-MNIST model at batch 256,
 * 1.22-1.35x), barely on large ones (convnext_atto 128² 1.06-1.07x, convnext_tiny 224² 0.93-1.09x);
 * `npm run bench -- training` measures both. It stays opt-in for that reason. Models with
 * batch statistics, and batches that do not split evenly, always run as one session.
 */
import { availableParallelism } from "node:os";
import { createSession } from "../runtime/session-node.ts";
import { WorkerSession } from "../runtime/worker-session-node.ts";
import type { StepEngine } from "./step-runner.ts";

export interface NodeEngineOptions {
  /** Threads of the one session (default: all cores). */
  threads?: number;
  /** Single-thread sessions splitting each batch (default 1: no data parallelism). */
  replicas?: number;
}

export function nodeStepEngine(opts: NodeEngineOptions = {}): StepEngine {
  const threads = opts.threads ?? availableParallelism();
  const replicas = opts.replicas ?? 1;
  return {
    session: (onnx) => createSession(onnx, { threads, spinning: false }),
    replicas:
      replicas > 1
        ? { count: replicas, session: (onnx) => WorkerSession.create(onnx, { threads: 1 }) }
        : undefined,
  };
}
