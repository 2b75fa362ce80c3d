/**
 * Where training steps run on Node: one session using `threads` threads, or `replicas` single-thread sessions
 * on worker threads, each taking an equal share of every batch (data parallelism). Against one 2-thread session,
 * two replicas measured 1.45x on the Fashion-MNIST model at batch 256, 1.13x on convnext_atto 128² b32 and 1.00x
 * on convnext_tiny 224² b16 (`npm run bench -- training`, docs/training-step.md). It stays opt-in: nothing gained
 * on large images, and each replica holds its own copy of the parameters for onnxruntime. Models with batch
 * statistics, and batches that do not split evenly, always run as one session.
 * With more than one thread either way, a worker thread takes half of every AdamW update (AdamWThread): the
 * sessions' threads idle during it. That puts the parameters in shared memory, copied once per step for
 * onnxruntime (measured: the update 38.6 → 21.8 ms for convnext_atto's 3.7 M parameters).
 * Depthwise convs run on onnxruntime's NCHWc kernels, built for this machine's channel block
 * (ops/depthwise-nchwc.ts), and the one session's graph takes its large weight gradients in row ranges, one per
 * thread (ops/weight-grad-split.ts).
 */
import { availableParallelism } from "node:os";
import { nchwcBlockSize } from "./nchwc-node.ts";
import { createSession } from "../runtime/session-node.ts";
import { WorkerSession } from "../runtime/worker-session-node.ts";
import { AdamWThread } from "./adamw-thread-node.ts";
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
    optimizerThread: replicas > 1 || threads > 1 ? (arrays) => AdamWThread.start(arrays) : undefined,
    graphOptions: async () => ({ nchwcBlockSize: await nchwcBlockSize(), sessionThreads: threads }),
  };
}
