/**
 * Where training steps run on Node: one session using `threads` threads, or `replicas` single-thread sessions
 * on worker threads, each taking an equal share of every batch (data parallelism). Against one 2-thread session,
 * two replicas measured 1.45x on the Fashion-MNIST model at batch 256, 1.13x on convnext_atto 128² b32 and 1.00x
 * on convnext_tiny 224² b16 (`npm run bench -- training`, docs/training-step.md). It stays opt-in: nothing gained
 * on large images, and each replica holds its own copy of the parameters for onnxruntime. Models with batch
 * statistics, and batches that do not split evenly, always run as one session.
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
