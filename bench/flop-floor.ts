/**
 * What a training step must at least compute, and how fast this machine can compute it: the FLOP floor of
 * forward + backward (conv and linear layers only: forward MACs, plus the input- and weight-gradient products,
 * 3 × 2 FLOPs per MAC) and the GEMM rate onnxruntime reaches here on a large square MatMul, as the ceiling.
 */
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { buildConvNeXt } from "../src/models/convnext.ts";
import { countMacs } from "../src/models/count.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { medianMs } from "./stats.ts";

/** FLOPs of one training step's conv and linear products at the batch shape. */
export function trainingFlopFloor(cfg: ConvNeXtConfig, shape: number[]): number {
  const { graph } = buildConvNeXt(cfg, { inputShape: shape });
  return 3 * 2 * countMacs(graph);
}

/** GFLOP/s of a 1024³ float32 MatMul on `threads` threads (median of 5). */
export async function gemmPeakGflops(threads: number, n = 1024): Promise<number> {
  const g = new Graph("gemm_peak");
  const a = g.input("a", "float32", [n, n]);
  const b = g.input("b", "float32", [n, n]);
  g.output(g.op("MatMul", [a, b], {}, "y"));
  const session = await createSession(toOnnxBytes(g), { threads, spinning: false });
  const t = float32([n, n], new Float32Array(n * n).fill(0.5));
  const { median } = await medianMs(() => session.run({ a: t, b: t }), 5, 2);
  await session.release();
  return (2 * n ** 3) / (median * 1e6);
}
