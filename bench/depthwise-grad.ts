/**
 * The weight gradient of a "same"-padded depthwise conv, the two forms of src/ops/conv.ts timed interleaved:
 * the direct grouped Conv against kernel-row MatMuls (depthwise-weight-grad.ts), on the shapes of the training
 * benchmarks' stage-1 blocks and on wider maps, to place the cut-over `MAX_WIDTH_PER_TAP`.
 */
import { weightGradByConv } from "../src/ops/conv.ts";
import { depthwiseWeightGradByRows, MAX_WIDTH_PER_TAP } from "../src/ops/depthwise-weight-grad.ts";
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import "../src/ops/index.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { compareMs } from "./stats.ts";

/** [batch, channels, size, kernel, threads] */
const SHAPES: [number, number, number, number, number][] = [
  [128, 32, 16, 3, 1], // the Fashion-MNIST model's stage 1, one replica
  [16, 40, 32, 7, 1], // convnext_atto 128², stage 1, one replica
  [16, 96, 56, 7, 2], // convnext_tiny 224², stage 1
  [4, 96, 96, 7, 2], // convnext_tiny 384², stage 1
  [2, 96, 192, 7, 2],
];

function dwGraph(n: number, c: number, size: number, k: number, byRows: boolean): Uint8Array {
  const g = new Graph("depthwise_weight_grad");
  const x = g.input("x", "float32", [n, c, size, size]);
  const w = g.input("w", "float32", [c, 1, k, k]);
  const dy = g.input("dy", "float32", [n, c, size, size]);
  const r = (k - 1) / 2;
  g.op("Conv", [x, w], { pads: [r, r, r, r], group: c });
  const conv = g.nodes[g.nodes.length - 1];
  const dw = byRows ? depthwiseWeightGradByRows(g, x, dy, k) : weightGradByConv(g, conv, dy);
  g.output(g.op("Identity", [dw], {}, "dw"));
  return toOnnxBytes(g);
}

export async function benchDepthwiseGrad(repeats = 15): Promise<string[]> {
  const lines = [
    `Depthwise conv weight gradient, median of ${repeats} (interleaved); kernel rows used up to width ${MAX_WIDTH_PER_TAP}·k`,
    "shape (N, C, H=W, k)   threads  grouped Conv ms  kernel rows ms  rows speed-up",
  ];
  const rng = new Rng(3);
  for (const [n, c, size, k, threads] of SHAPES) {
    const direct = await createSession(dwGraph(n, c, size, k, false), { threads });
    const rows = await createSession(dwGraph(n, c, size, k, true), { threads });
    const draw = (dims: number[]) =>
      float32(
        dims,
        Float32Array.from({ length: dims.reduce((a, d) => a * d) }, () => rng.normal()),
      );
    const feeds = { x: draw([n, c, size, size]), dy: draw([n, c, size, size]), w: draw([c, 1, k, k]) };
    const [a, b] = await compareMs(
      () => direct.run(feeds),
      () => rows.run(feeds),
      repeats,
    );
    lines.push(
      `${`${n}, ${c}, ${size}, ${k}`.padEnd(22)} ${String(threads).padStart(7)} ${a.median.toFixed(1).padStart(16)} ${b.median.toFixed(1).padStart(15)} ${`${(a.median / b.median).toFixed(2)}x (W/k ${(size / k).toFixed(1)})`.padStart(22)}`,
    );
    await direct.release();
    await rows.release();
  }
  return lines;
}
