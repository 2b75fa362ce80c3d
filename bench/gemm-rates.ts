/**
 * The achieved rate of each MLP GEMM of ConvNeXt-T (fp32, 224², batch 1, 1 thread) from onnxruntime's profiler:
 * median kernel time per node over the runs after three warm-ups, and 2·M·K·N over it. Shows which stages' GEMMs
 * fall short of the others (docs/inference/README.md). Usage: node --import tsx bench/gemm-rates.ts [runs]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { convnextTinyOnnx } from "./inference-profile.ts";

interface KernelEvent {
  cat: string;
  name: string;
  dur: number;
  args: { op_name: string; input_type_shape: Record<string, number[]>[] };
}

const runs = Number(process.argv[2] ?? 13);
const model = convnextTinyOnnx();
const dir = mkdtempSync(join(tmpdir(), "convnext-gemm-rates-"));
const session = await createSession(model, { threads: 1, spinning: false, profilePrefix: join(dir, "p") });
const x = float32([1, 3, 224, 224], new Float32Array(3 * 224 * 224).fill(0.5));
for (let i = 0; i < runs; i++) await session.run({ x });
session.endProfiling();
const events = (JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), "utf8")) as KernelEvent[]).filter(
  (e) => e.cat === "Node" && e.name.endsWith("_kernel_time"),
);
rmSync(dir, { recursive: true, force: true });
const perRun = events.length / runs;
const byNode = new Map<string, { ms: number[]; event: KernelEvent }>();
for (const e of events.slice(3 * perRun)) {
  const entry = byNode.get(e.name) ?? { ms: [], event: e };
  entry.ms.push(e.dur / 1000);
  byNode.set(e.name, entry);
}
console.log("node                                  A (M×K)       N      ms   GFLOP/s");
for (const [name, { ms, event }] of byNode) {
  if (event.args.op_name !== "Gemm") continue;
  const [a, b] = event.args.input_type_shape.map((s) => Object.values(s)[0]);
  // onnxruntime reports the prepacked weight by its first dimension only; N is the one that is not K.
  const n = b[0] === a[1] ? b[1] : b[0];
  ms.sort((p, q) => p - q);
  const median = ms[ms.length >> 1];
  const gflops = (2 * a[0] * a[1] * n) / median / 1e6;
  console.log(
    `${name.replace(/_kernel_time$/, "").padEnd(36)} ${`${a[0]}×${a[1]}`.padStart(9)} ${String(n).padStart(7)} ` +
      `${median.toFixed(3).padStart(7)} ${gflops.toFixed(0).padStart(9)}`,
  );
}
