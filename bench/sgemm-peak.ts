/**
 * The measured fp32 peak the inference benchmark compares against: the best rate of onnxruntime's own SGEMM
 * (MLAS) on a large square product with a constant, prepacked right operand — the kernel ConvNeXt's MLP runs
 * on, at its most efficient shape. Best of several runs, since load from other processes only slows it.
 * Returned per wall second and per CPU second (one busy core): on a shared machine the wall rate depends on
 * how much of the cores the process got, the CPU-second rate much less.
 */
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";

export async function sgemmPeakGflops(
  threads: number,
  n = 1024,
  runs = 8,
): Promise<{ wall: number; perCpuSecond: number }> {
  const g = new Graph("sgemm");
  const a = g.input("a", "float32", [n, n]);
  const b = g.initializer(
    "b",
    float32(
      [n, n],
      Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3),
    ),
  );
  g.output(g.op("MatMul", [a, b]));
  const session = await createSession(toOnnxBytes(g), { threads, spinning: false });
  const x = float32(
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => (i % 5) - 2),
  );
  let best = Number.POSITIVE_INFINITY;
  let bestCpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs + 1; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await session.run({ a: x });
    const c = process.cpuUsage(c0);
    if (i === 0) continue;
    best = Math.min(best, performance.now() - t0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  await session.release();
  return { wall: (2 * n ** 3) / (best * 1e6), perCpuSecond: (2 * n ** 3) / (bestCpu * 1e6) };
}
