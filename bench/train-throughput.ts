/**
 * Training throughput (forward + backward + AdamW: one onnxruntime run per step plus the host update) for
 * convnext_atto at 128² batch 32, convnext_tiny at 224² batch 16 and the bundled Fashion-MNIST model at its
 * training batch, on 2 threads. Machines of one kind differ up to 2× in speed, so each case is judged inside one
 * run: against the plain graph (every conv an ONNX Conv, without the training-graph rewrites: small depthwise
 * convs as MatMuls, patchify convs as Gemms) timed in the same rotation, and against the FLOP floor of the step
 * at this machine's measured GEMM rate (bench/flop-floor.ts).
 * Engines, as `convnext train` runs them (nodeStepEngine): one 2-thread session without spin-waiting (spinning
 * pool threads measured 2× slower host AdamW after each run, atto 982 vs 914 ms per step) and data parallelism
 * (two single-thread sessions on worker threads, each taking half of every batch; `--replicas 2`); both give half
 * of every AdamW update to a worker thread. "AdamW ms" is that update alone, as the one-session engine runs it.
 * `npm run bench -- training [--json] [--repeats N] [--model NAME]`.
 */
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { nodeStepEngine } from "../src/train/engine-node.ts";
import { smoothedTargets } from "../src/train/loss.ts";
import { Rng } from "../src/train/rng.ts";
import { StepRunner } from "../src/train/step-runner.ts";
import { convnextTrainable } from "../src/train/trainable.ts";
import { fashionMnistModel } from "./fashion-mnist-model.ts";
import { gemmPeakGflops, trainingFlopFloor } from "./flop-floor.ts";
import { compareAllMs, medianMs } from "./stats.ts";

interface Case {
  model: string;
  config: () => ConvNeXtConfig;
  resolution: number;
  batch: number;
}

const CASES: Case[] = [
  {
    model: "convnext_atto",
    config: () => modelConfig("convnext_atto", { dropPathRate: 0.1 }),
    resolution: 128,
    batch: 32,
  },
  {
    model: "convnext_tiny",
    config: () => modelConfig("convnext_tiny", { dropPathRate: 0.1 }),
    resolution: 224,
    batch: 16,
  },
  // The bundled Fashion-MNIST model (docs/fashion-mnist) at its training batch.
  { model: "fashion-mnist", config: () => fashionMnistModel(), resolution: 32, batch: 256 },
];

export interface TrainingRow {
  model: string;
  resolution: number;
  batch: number;
  engine: string;
  msPerStep: number;
  imagesPerSecond: number;
  /** The step's conv and linear FLOPs over its time. */
  gflops: number;
  /** gflops over the measured 2-thread GEMM rate. */
  shareOfGemmPeak: number;
  /** Median ms of the AdamW update alone (one-session engine), included in msPerStep. */
  adamwMs: number;
  /** Peak resident set of the process so far, MiB. */
  peakRssMiB: number;
}

export interface TrainingReport {
  threads: number;
  repeats: number;
  gemmPeakGflops: number;
  rows: TrainingRow[];
}

export async function benchTraining(repeats = 5, only?: string): Promise<TrainingReport> {
  const threads = 2;
  const peak = await gemmPeakGflops(threads);
  const rows: TrainingRow[] = [];
  for (const c of CASES) {
    if (only && c.model !== only) continue;
    const cfg = c.config();
    const rng = new Rng(1);
    const session = (b: Uint8Array) => createSession(b, { threads, spinning: false });
    const shape: [number, number, number, number] = [c.batch, cfg.inChans, c.resolution, c.resolution];
    const runner = (engine: Parameters<typeof StepRunner.create>[3], plain = false) =>
      StepRunner.create(
        convnextTrainable(cfg),
        initParams(cfg, () => rng.normal()),
        shape,
        engine,
        {},
        plain ? { denseDepthwiseMaxPixelsPerTap: 0, patchifyAsGemm: false } : {},
      );
    const runners = [
      await runner(session, true),
      await runner(nodeStepEngine({ threads })),
      await runner(nodeStepEngine({ threads, replicas: 2 })),
    ];
    const engines = [
      "plain graph, 1 session",
      "one session, 2 threads",
      `${runners[2].replicaCount} replicas x 1 thread`,
    ];
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
      runners.map((r) => () => r.step(x, t, 1e-4, rng)),
      repeats,
      1,
    );
    const { grads } = await runners[1].gradients(x, t, rng);
    const adamw = await medianMs(() => runners[1].update(grads, 1e-4), repeats, 1);
    const flops = trainingFlopFloor(cfg, shape);
    const rss = process.resourceUsage().maxRSS / 1024;
    timings.forEach((timing, i) => {
      const gflops = flops / (timing.median * 1e6);
      rows.push({
        model: c.model,
        resolution: c.resolution,
        batch: c.batch,
        engine: engines[i],
        msPerStep: timing.median,
        imagesPerSecond: (c.batch * 1000) / timing.median,
        gflops,
        shareOfGemmPeak: gflops / peak,
        adamwMs: adamw.median,
        peakRssMiB: rss,
      });
    });
    for (const r of runners) await r.release();
  }
  return { threads, repeats, gemmPeakGflops: peak, rows };
}

export function trainingLines(report: TrainingReport): string[] {
  const lines = [
    `Training step (fwd + bwd + AdamW), ${report.threads} threads, median of ${report.repeats} (interleaved); GEMM peak here ${report.gemmPeakGflops.toFixed(0)} GFLOP/s`,
    "model          res batch  engine                    ms/step  img/s  GFLOP/s  of peak  AdamW ms  vs plain  peak RSS",
  ];
  for (const r of report.rows) {
    const plain = report.rows.find((p) => p.model === r.model && p.engine.startsWith("plain"));
    lines.push(
      `${r.model.padEnd(14)} ${String(r.resolution).padStart(3)} ${String(r.batch).padStart(5)}  ${r.engine.padEnd(24)} ${r.msPerStep.toFixed(0).padStart(8)} ${r.imagesPerSecond.toFixed(1).padStart(6)} ${r.gflops.toFixed(1).padStart(8)} ${`${(100 * r.shareOfGemmPeak).toFixed(0)}%`.padStart(8)} ${r.adamwMs.toFixed(1).padStart(9)} ${`${((plain?.msPerStep ?? r.msPerStep) / r.msPerStep).toFixed(2)}x`.padStart(9)}  ${r.peakRssMiB.toFixed(0)} MiB`,
    );
  }
  return lines;
}
