/**
 * Where ConvNeXt-T inference time goes, per op type, at batch 1, 8 and 32 (onnxruntime's own profiler, kernel
 * time per image): shows which ops stop getting cheaper per image as the batch grows. Ours fp32, 2 threads.
 */
import { toOnnxBytes } from "../src/graph/onnx.ts";
import type { Precision } from "../src/graph/precision.ts";
import { inferenceGraph } from "../src/models/inference-graph.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { profileRuns } from "./kernel-profile.ts";

/** Kernel ms per image by op type, summed over `runs` runs after one warm-up. */
async function profile(model: Uint8Array, batch: number, threads: number, runs: number) {
  const x = float32([batch, 3, 224, 224], new Float32Array(batch * 3 * 224 * 224).fill(0.5));
  const { events } = await profileRuns(model, { x }, { threads, runs });
  const perOp = new Map<string, number>();
  for (const e of events.flat()) perOp.set(e.op, (perOp.get(e.op) ?? 0) + e.ms / runs / batch);
  return perOp;
}

/** ConvNeXt-T's inference graph (logits) with random weights, the model the inference benchmarks time. */
export function convnextTinyOnnx(precision: Precision = "fp32"): Uint8Array {
  const cfg = modelConfig("convnext_tiny", { layerScaleInit: 0.5 });
  const rng = new Rng(0);
  return toOnnxBytes(
    inferenceGraph(
      cfg,
      initParams(cfg, () => rng.normal()),
      ["logits"],
      { precision },
    ),
  );
}

export async function benchInferenceProfile(
  precision: Precision = "fp32",
  threads = 2,
  batches = [1, 8, 32],
): Promise<string[]> {
  const model = convnextTinyOnnx(precision);
  const profiles: Map<string, number>[] = [];
  for (const batch of batches) profiles.push(await profile(model, batch, threads, batch >= 32 ? 2 : 5));
  const ops = [...profiles[0].keys()].sort((a, b) => profiles[0].get(b)! - profiles[0].get(a)!);
  const total = (p: Map<string, number>) => [...p.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `ConvNeXt-T ${precision} kernel ms per image by op type, ${threads} threads (onnxruntime profiler)`,
    `${"op".padEnd(24)}${batches.map((b) => `batch ${b}`.padStart(10)).join("")}`,
  ];
  for (const op of ops) {
    const cells = profiles.map((p) => (p.get(op) ?? 0).toFixed(2).padStart(10));
    lines.push(`${op.padEnd(24)}${cells.join("")}`);
  }
  lines.push(`${"total".padEnd(24)}${profiles.map((p) => total(p).toFixed(2).padStart(10)).join("")}`);
  return lines;
}
