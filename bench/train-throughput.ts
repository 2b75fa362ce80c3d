/**
 * Training throughput (forward + backward + AdamW, one onnxruntime run per step plus the host update):
 * convnext_atto at 128² batch 32 and convnext_tiny at 224² batch 16 on 2 threads.
 * Reference on this machine (PyTorch 2.13 CPU, 2 threads): about 45 and 1.7 img/s.
 * Two ways to spend the 2 threads, timed interleaved: one 2-thread session (no spin-waiting: spinning pool
 * threads measured 2× slower host AdamW after each run, atto 982 vs 914 ms per step), and data parallelism (two
 * single-thread sessions on worker threads, each taking half of every batch; `convnext train --replicas 2`).
 * The baseline, timed in the same rotation, is one session on the plain graph: every conv an ONNX Conv, without
 * the training-graph rewrites (small depthwise convs as MatMuls, patchify convs as Gemms).
 */
import { convnextTrainable } from "../src/train/trainable.ts";
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { modelConfig } from "../src/models/variants.ts";
import { initParams } from "../src/models/init.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { smoothedTargets } from "../src/train/loss.ts";
import { Rng } from "../src/train/rng.ts";
import { nodeStepEngine } from "../src/train/engine-node.ts";
import { StepRunner } from "../src/train/step-runner.ts";
import { fashionMnistModel } from "./fashion-mnist-model.ts";
import { compareAllMs } from "./stats.ts";

interface Case {
  model: string;
  config: () => ConvNeXtConfig;
  resolution: number;
  batch: number;
  /** PyTorch 2.13 on this machine, img/s (null: not measured). */
  pytorch: number | null;
}

const CASES: Case[] = [
  {
    model: "convnext_atto",
    config: () => modelConfig("convnext_atto", { dropPathRate: 0.1 }),
    resolution: 128,
    batch: 32,
    pytorch: 45,
  },
  {
    model: "convnext_tiny",
    config: () => modelConfig("convnext_tiny", { dropPathRate: 0.1 }),
    resolution: 224,
    batch: 16,
    pytorch: 1.7,
  },
  // The bundled Fashion-MNIST model (docs/fashion-mnist) at its training batch.
  {
    model: "fashion-mnist",
    config: () => fashionMnistModel(),
    resolution: 32,
    batch: 256,
    pytorch: null,
  },
];

export async function benchTraining(repeats = 5, only?: string): Promise<string[]> {
  const lines = [`Training step (fwd + bwd + AdamW), 2 threads, median of ${repeats} (interleaved)`];
  lines.push(
    "model          res batch  engine                    ms/step  img/s  (PyTorch here: img/s, ratio)  peak RSS",
  );
  for (const c of CASES) {
    if (only && c.model !== only) continue;
    const cfg = c.config();
    const rng = new Rng(1);
    // As `convnext train` runs it: without spin-waiting, which would slow the host AdamW that follows each run.
    const session = (b: Uint8Array) => createSession(b, { threads: 2, spinning: false });
    const shape: [number, number, number, number] = [c.batch, cfg.inChans, c.resolution, c.resolution];
    const plainGraph = await StepRunner.create(
      convnextTrainable(cfg),
      initParams(cfg, () => rng.normal()),
      shape,
      session,
      {},
      { denseDepthwiseMaxPixelsPerTap: 0, patchifyAsGemm: false },
    );
    const oneSession = await StepRunner.create(
      convnextTrainable(cfg),
      initParams(cfg, () => rng.normal()),
      shape,
      session,
    );
    const replicas = await StepRunner.create(
      convnextTrainable(cfg),
      initParams(cfg, () => rng.normal()),
      shape,
      nodeStepEngine({ replicas: 2 }),
    );
    const x = float32(
      shape,
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
    );
    const t = smoothedTargets(
      Array.from({ length: c.batch }, (_, i) => i % cfg.numClasses),
      cfg.numClasses,
      0.1,
    );
    const timings = await compareAllMs(
      [
        () => plainGraph.step(x, t, 1e-4, rng),
        () => oneSession.step(x, t, 1e-4, rng),
        () => replicas.step(x, t, 1e-4, rng),
      ],
      repeats,
      1,
    );
    const rss = process.memoryUsage().rss / 2 ** 20;
    const engines = [
      "plain graph, 1 session",
      "one session, 2 threads",
      `${replicas.replicaCount} replicas x 1 thread`,
    ];
    timings.forEach((timing, i) => {
      const ips = (c.batch * 1000) / timing.median;
      lines.push(
        `${c.model.padEnd(14)} ${String(c.resolution).padStart(3)} ${String(c.batch).padStart(5)}  ${engines[i].padEnd(24)} ${timing.median.toFixed(0).padStart(8)} ${ips.toFixed(1).padStart(6)}  ${c.pytorch === null ? "(not measured)".padEnd(14) : `(${c.pytorch}, ${(ips / c.pytorch).toFixed(2)}x)`}   ${rss.toFixed(0)} MiB`,
      );
    });
    const [plain, one, parallel] = timings.map((tm) => tm.median);
    lines.push(
      `${"".padEnd(26)}rewrites: ${(plain / one).toFixed(2)}x; data parallel / one session: ${(one / parallel).toFixed(2)}x; best / plain graph: ${(plain / Math.min(one, parallel)).toFixed(2)}x`,
    );
    await plainGraph.release();
    await oneSession.release();
    await replicas.release();
  }
  return lines;
}
