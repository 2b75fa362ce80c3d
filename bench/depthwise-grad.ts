/**
 * The weight gradient of a "same"-padded depthwise conv, the forms of src/ops/conv.ts timed interleaved: the
 * direct grouped Conv against kernel-row MatMuls (depthwise-weight-grad.ts) with the shifted rows sliced or
 * gathered, on the shapes of the training benchmarks' stage-1 blocks and on wider maps, to place the cut-overs
 * `MAX_WIDTH_PER_TAP` and `GATHER_MIN_WIDTH`.
 */
import { weightGradByConv } from "../src/ops/conv.ts";
import {
  depthwiseWeightGradByRows,
  GATHER_MIN_WIDTH,
  MAX_WIDTH_PER_TAP,
  type ShiftedRows,
} from "../src/ops/depthwise-weight-grad.ts";
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import "../src/ops/index.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { compareAllMs } from "./stats.ts";

/** [batch, channels, size, kernel, threads] */
const SHAPES: [number, number, number, number, number][] = [
  [128, 32, 16, 3, 1], // the Fashion-MNIST model's stage 1, one replica
  [16, 40, 32, 7, 1], // convnext_atto 128², stage 1, one replica
  [16, 96, 56, 7, 2], // convnext_tiny 224², stage 1
  [8, 96, 56, 7, 1], // the same, one replica of two
  [16, 192, 28, 7, 2], // convnext_tiny 224², stage 2
  [4, 96, 96, 7, 2], // convnext_tiny 384², stage 1
  [2, 96, 192, 7, 2],
];

function dwGraph(n: number, c: number, size: number, k: number, form: "conv" | ShiftedRows): Uint8Array {
  const g = new Graph("depthwise_weight_grad");
  const x = g.input("x", "float32", [n, c, size, size]);
  const w = g.input("w", "float32", [c, 1, k, k]);
  const dy = g.input("dy", "float32", [n, c, size, size]);
  const r = (k - 1) / 2;
  g.op("Conv", [x, w], { pads: [r, r, r, r], group: c });
  const conv = g.nodes[g.nodes.length - 1];
  const dw = form === "conv" ? weightGradByConv(g, conv, dy) : depthwiseWeightGradByRows(g, x, dy, k, form);
  g.output(g.op("Identity", [dw], {}, "dw"));
  return toOnnxBytes(g);
}

export async function benchDepthwiseGrad(repeats = 15): Promise<string[]> {
  const lines = [
    `Depthwise conv weight gradient, median of ${repeats} (interleaved); kernel rows used up to width ${MAX_WIDTH_PER_TAP}·k, gathered from width ${GATHER_MIN_WIDTH}`,
    "shape (N, C, H=W, k)   threads  grouped Conv ms  rows sliced ms  rows gathered ms  best rows / Conv",
  ];
  const rng = new Rng(3);
  for (const [n, c, size, k, threads] of SHAPES) {
    const sessions = await Promise.all(
      (["conv", "slices", "gather"] as const).map((form) =>
        createSession(dwGraph(n, c, size, k, form), { threads }),
      ),
    );
    const draw = (dims: number[]) =>
      float32(
        dims,
        Float32Array.from({ length: dims.reduce((a, d) => a * d) }, () => rng.normal()),
      );
    const feeds = { x: draw([n, c, size, size]), dy: draw([n, c, size, size]), w: draw([c, 1, k, k]) };
    const [conv, sliced, gathered] = await compareAllMs(
      sessions.map((s) => () => s.run(feeds)),
      repeats,
    );
    const best = Math.min(sliced.median, gathered.median);
    lines.push(
      `${`${n}, ${c}, ${size}, ${k}`.padEnd(22)} ${String(threads).padStart(7)} ${conv.median.toFixed(1).padStart(16)} ${sliced.median.toFixed(1).padStart(15)} ${gathered.median.toFixed(1).padStart(17)} ${`${(conv.median / best).toFixed(2)}x (W/k ${(size / k).toFixed(1)})`.padStart(18)}`,
    );
    for (const s of sessions) await s.release();
  }
  return lines;
}
