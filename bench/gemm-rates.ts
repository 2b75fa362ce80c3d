/**
 * The achieved rate of each MLP GEMM of ConvNeXt-T (fp32, 224², batch 1, 1 thread) from onnxruntime's profiler:
 * median kernel time per node over the runs (default 10) after three warm-ups, and 2·M·K·N over it. Shows which stages' GEMMs
 * fall short of the others (docs/inference/README.md). Usage: node --import tsx bench/gemm-rates.ts [runs]
 */
import { float32 } from "../src/tensor/host-tensor.ts";
import { convnextTinyOnnx } from "./inference-profile.ts";
import { type KernelEvent, profileRuns } from "./kernel-profile.ts";

const runs = Number(process.argv[2] ?? 10);
const x = float32([1, 3, 224, 224], new Float32Array(3 * 224 * 224).fill(0.5));
const { events } = await profileRuns(convnextTinyOnnx(), { x }, { threads: 1, runs });
const byNode = new Map<string, { ms: number[]; event: KernelEvent }>();
for (const e of events.flat()) {
  const entry = byNode.get(e.node) ?? { ms: [], event: e };
  entry.ms.push(e.ms);
  byNode.set(e.node, entry);
}
console.log("node                                  A (M×K)       N      ms   GFLOP/s");
for (const [name, { ms, event }] of byNode) {
  if (event.op !== "Gemm") continue;
  const [a, b] = event.inputShapes;
  // onnxruntime reports the prepacked weight by its first dimension only; N is the one that is not K.
  const n = b[0] === a[1] ? b[1] : b[0];
  ms.sort((p, q) => p - q);
  const median = ms[ms.length >> 1];
  const gflops = (2 * a[0] * a[1] * n) / median / 1e6;
  console.log(
    `${name.padEnd(36)} ${`${a[0]}×${a[1]}`.padStart(9)} ${String(n).padStart(7)} ` +
      `${median.toFixed(3).padStart(7)} ${gflops.toFixed(0).padStart(9)}`,
  );
}
