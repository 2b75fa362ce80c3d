/**
 * Inference speed: ConvNeXt-T 224², ours fp32 / int8 against the graphs users run today (HF ConvNeXt-T exported
 * to ONNX opset 14 and its `quantize_dynamic` uint8 copy, fixtures/peers), batch 1 and 32, 1 and 2 threads.
 * One process, same onnxruntime; the four sessions of a thread count are timed in turn (a, b, c, d, a, …) so
 * machine noise falls on all alike, with intra-op spinning off: an idle session's spinning pool would steal
 * the cores from the running one. Also: achieved GFLOP/s (2 × the paper's multiply-adds per second) against
 * the measured fp32 peak of the same onnxruntime (its best SGEMM on large square matrices), and peak RSS.
 * On a shared machine wall time measures how much of the cores the process got as much as the engines, so the
 * ratios and the share of the peak are also given in CPU time (per busy core), which load disturbs far less.
 * At batch 32 each graph also runs "split", as `ConvNeXtModel` runs such a batch (runtime/batch-parallel-node.ts):
 * on 2 threads spread over one single-thread session per thread on worker threads, an image at a time; on 1
 * thread the one session with the batch cut into runs of one image. The ratios stay against the peers run as one
 * session with the whole batch, as transformers.js runs them.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { imageMacs } from "../src/models/count.ts";
import { inferenceGraph } from "../src/models/inference-graph.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { BatchParallelSession } from "../src/runtime/batch-parallel-node.ts";
import type { RunnableSession } from "../src/runtime/session.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { type CpuFeatures, cpuFeatures } from "./cpu-features.ts";
import { sgemmPeakGflops } from "./sgemm-peak.ts";
import { compareAllMs, fmt } from "./stats.ts";

export interface InferenceRow {
  batch: number;
  threads: number;
  engine: string;
  msPerImage: number;
  cpuMsPerImage: number;
  ratioToPeerFp32: number;
  ratioToPeerUint8: number;
  cpuRatioToPeerFp32: number;
  cpuRatioToPeerUint8: number;
  gflops: number;
  /** Achieved GFLOP per CPU second over the SGEMM peak per CPU second. */
  shareOfPeak: number;
}

export interface InferenceReport {
  lines: string[];
  data: {
    gmacsPerImage: number;
    peakGflops: Record<number, Peak>;
    rows: InferenceRow[];
    peakRssMB: number;
    cpu: CpuFeatures;
  };
}

type Peak = { wall: number; perCpuSecond: number };

const ENGINES = ["ours fp32", "ours int8", "peer fp32", "peer uint8"] as const;
const SPLIT = " split";

export async function benchInference(
  fixtures: string,
  opts: { batches?: number[]; threads?: number[]; repeats?: (batch: number) => number } = {},
): Promise<InferenceReport> {
  const batches = opts.batches ?? [1, 32];
  const threadCounts = opts.threads ?? [1, 2];
  const repeats = opts.repeats ?? ((b: number) => (b === 1 ? 11 : 3));
  const cfg = modelConfig("convnext_tiny", { layerScaleInit: 0.5 });
  const rng = new Rng(0);
  const weights = initParams(cfg, () => rng.normal());
  const macs = imageMacs(cfg, 224);
  const peer = (file: string) => new Uint8Array(gunzipSync(readFileSync(`${fixtures}/peers/${file}`)));
  const models = [
    toOnnxBytes(inferenceGraph(cfg, weights, ["logits"])),
    toOnnxBytes(inferenceGraph(cfg, weights, ["logits"], { precision: "int8" })),
    peer("convnext_tiny_hf_opset14.onnx.gz"),
    peer("convnext_tiny_hf_opset14_quantized.onnx.gz"),
  ];
  const feeds = ["x", "x", "pixel_values", "pixel_values"];
  const rows: InferenceRow[] = [];
  const peakGflops: Record<number, Peak> = {};
  for (const threads of threadCounts) {
    peakGflops[threads] = await sgemmPeakGflops(threads);
    const sessions = await Promise.all(models.map((m) => createSession(m, { threads, spinning: false })));
    // On one thread "split" is the same session with the batch cut into runs of one image.
    const split: RunnableSession[] =
      threads > 1
        ? await Promise.all(models.map((m) => BatchParallelSession.create(m, threads, 1)))
        : sessions.map((s) => BatchParallelSession.over([s], 1));
    for (const batch of batches) {
      const x = float32(
        [batch, 3, 224, 224],
        Float32Array.from({ length: batch * 3 * 224 * 224 }, () => rng.normal()),
      );
      const engines = [
        ...sessions.map((s, k) => ({ name: ENGINES[k], run: () => s.run({ [feeds[k]]: x }) })),
        ...(batch > 1 ? split : []).map((s, k) => ({
          name: `${ENGINES[k]}${SPLIT}`,
          run: () => s.run({ [feeds[k]]: x }),
        })),
      ];
      const times = await compareAllMs(
        engines.map((e) => e.run),
        repeats(batch),
        batch === 1 ? 2 : 1,
      );
      const perImage = times.map((t) => t.median / batch);
      const cpu = times.map((t) => t.cpuMedian / batch);
      const [fp32, uint8] = [ENGINES.indexOf("peer fp32"), ENGINES.indexOf("peer uint8")];
      engines.forEach((e, k) => {
        rows.push({
          batch,
          threads,
          engine: e.name,
          msPerImage: perImage[k],
          cpuMsPerImage: cpu[k],
          ratioToPeerFp32: perImage[k] / perImage[fp32],
          ratioToPeerUint8: perImage[k] / perImage[uint8],
          cpuRatioToPeerFp32: cpu[k] / cpu[fp32],
          cpuRatioToPeerUint8: cpu[k] / cpu[uint8],
          gflops: (2 * macs) / (perImage[k] * 1e6),
          shareOfPeak: (2 * macs) / (cpu[k] * 1e6) / peakGflops[threads].perCpuSecond,
        });
      });
    }
    for (const s of [...sessions, ...(threads > 1 ? split : [])]) await s.release();
  }
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  const cpu = cpuFeatures();
  return {
    lines: format(rows, macs, peakGflops, peakRssMB, cpu),
    data: { gmacsPerImage: macs / 1e9, peakGflops, rows, peakRssMB, cpu },
  };
}

function format(
  rows: InferenceRow[],
  macs: number,
  peak: Record<number, Peak>,
  rssMB: number,
  cpu: CpuFeatures,
): string[] {
  const peaks = Object.entries(peak)
    .map(([t, g]) => `${t} thread(s) ${g.wall.toFixed(0)} (${g.perCpuSecond.toFixed(0)} per CPU second)`)
    .join(", ");
  const lines = [
    `ConvNeXt-T 224² inference, ms per image (median), ${(macs / 1e9).toFixed(2)} GMACs per image; ` +
      `measured SGEMM peak GFLOP/s: ${peaks}`,
    `CPU: ${cpu.model}; ${cpu.simd.join(" ") || "SIMD unknown"}; int8 dot product: ${cpu.int8Path}`,
    "ratios: wall (CPU time); of-peak: GFLOP per CPU second over the SGEMM peak per CPU second",
    "split: the batch an image at a time (2 threads: over one single-thread worker session per thread); " +
      "ratios against the peers as one session",
    "batch threads engine             ms/img  cpu-ms/img  /peer-fp32      /peer-uint8      GFLOP/s  of-peak",
  ];
  const ratio = (wall: number, cpu: number) => `${wall.toFixed(2)} (${cpu.toFixed(2)})`.padEnd(15);
  for (const r of rows) {
    lines.push(
      `${String(r.batch).padStart(5)} ${String(r.threads).padStart(7)} ${r.engine.padEnd(17)} ` +
        `${fmt(r.msPerImage).padStart(7)} ${fmt(r.cpuMsPerImage).padStart(11)}  ` +
        `${ratio(r.ratioToPeerFp32, r.cpuRatioToPeerFp32)} ${ratio(r.ratioToPeerUint8, r.cpuRatioToPeerUint8)} ` +
        `${r.gflops.toFixed(0).padStart(7)} ${`${(100 * r.shareOfPeak).toFixed(0)}%`.padStart(8)}`,
    );
  }
  // Batching pays when batch 32 costs less per image than batch 1 at the same thread count; "split" rows are
  // against the same graph's batch 1 as one session (how ConvNeXtModel runs a single image).
  const find = (threads: number, engine: string, batch: number) =>
    rows.find((r) => r.threads === threads && r.engine === engine && r.batch === batch);
  for (const threads of new Set(rows.map((r) => r.threads))) {
    for (const engine of [...ENGINES, ...ENGINES.map((e) => `${e}${SPLIT}`)]) {
      const one = find(threads, engine.replace(SPLIT, ""), 1);
      const many = find(threads, engine, 32);
      if (one && many)
        lines.push(
          `${engine}, ${threads} thread(s): batch 32 is ${(one.msPerImage / many.msPerImage).toFixed(2)}x ` +
            `(CPU time ${(one.cpuMsPerImage / many.cpuMsPerImage).toFixed(2)}x) cheaper per image than batch 1`,
        );
    }
  }
  lines.push(`peak RSS of the process: ${rssMB.toFixed(0)} MB`);
  return lines;
}
