/**
 * Where ConvNeXt-T inference time goes, per op type, at batch 1, 8 and 32 (onnxruntime's own profiler, kernel
 * time per image): shows which ops stop getting cheaper per image as the batch grows. Ours fp32, 2 threads.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import type { Precision } from "../src/graph/precision.ts";
import { inferenceGraph } from "../src/models/inference-graph.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** Kernel ms per image by op type, summed over `runs` runs after one warm-up. */
async function profile(model: Uint8Array, batch: number, threads: number, runs: number) {
  const dir = mkdtempSync(join(tmpdir(), "convnext-profile-"));
  try {
    const session = await createSession(model, { threads, spinning: false, profilePrefix: join(dir, "p") });
    const x = float32([batch, 3, 224, 224], new Float32Array(batch * 3 * 224 * 224).fill(0.5));
    for (let i = 0; i <= runs; i++) await session.run({ x });
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith(".json"));
    const events = JSON.parse(readFileSync(join(dir, file!), "utf8")) as ProfileEvent[];
    const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
    // Drop the warm-up run: its kernels are the first 1/(runs+1) of the events.
    const timed = kernels.slice(kernels.length / (runs + 1));
    const perOp = new Map<string, number>();
    for (const e of timed) {
      const op = e.args?.op_name ?? "?";
      perOp.set(op, (perOp.get(op) ?? 0) + e.dur / 1000 / runs / batch);
    }
    return perOp;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
