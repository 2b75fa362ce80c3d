/**
 * The training MLP's GEMMs in its two layouts (src/models/training-block.ts), timed interleaved on convnext_tiny's
 * and convnext_atto's shapes: the rows form (hidden tensor [rows, 4C]; both weight gradients Gemms with transA
 * over the rows) against the hidden tensor held transposed ([4C, rows]; both weight gradients plain products).
 * Each graph runs fc1 and fc2 forward, their input gradients and their weight gradients; it also times one weight
 * gradient alone with the rows operand transposed (transA) and already in [channels, rows] (transB).
 */
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { holdsHiddenTransposed } from "../src/models/training-block.ts";
import "../src/ops/index.ts";
import { i64 } from "../src/ops/types.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32, numel } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { compareMs } from "./stats.ts";

/** [rows, channels, threads]: convnext_tiny 224² b16 and convnext_atto 128² b32 by stage, and a tiny replica's share. */
const SHAPES: [number, number, number][] = [
  [50176, 96, 2],
  [12544, 192, 2],
  [3136, 384, 2],
  [784, 768, 2],
  [32768, 40, 2],
  [8192, 80, 2],
  [2048, 160, 2],
  [512, 320, 2],
  [25088, 96, 1],
  [1568, 384, 1],
];

/** A graph whose outputs are one value of each product, so that copying large outputs out is not timed. */
function graphOf(inputs: [string, number[]][], build: (g: Graph, v: string[]) => string[]): Uint8Array {
  const g = new Graph("mlp_layout");
  const values = inputs.map(([name, dims]) => g.input(name, "float32", dims));
  for (const y of build(g, values)) g.output(g.op("Slice", [y, i64(g, [0, 0]), i64(g, [1, 1])]));
  return toOnnxBytes(g);
}

function rowsForm(rows: number, c: number): Uint8Array {
  const inputs: [string, number[]][] = [
    ["x", [rows, c]],
    ["w1", [c, 4 * c]],
    ["w2", [4 * c, c]],
    ["dy", [rows, c]],
  ];
  return graphOf(inputs, (g, [x, w1, w2, dy]) => {
    const u = g.op("MatMul", [x, w1]);
    const du = g.op("Gemm", [dy, w2], { transB: 1 });
    return [
      g.op("MatMul", [u, w2]),
      g.op("Gemm", [du, w1], { transB: 1 }),
      g.op("Gemm", [u, dy], { transA: 1 }),
      g.op("Gemm", [x, du], { transA: 1 }),
    ];
  });
}

function transposedForm(rows: number, c: number): Uint8Array {
  const inputs: [string, number[]][] = [
    ["x", [rows, c]],
    ["w1", [4 * c, c]],
    ["w2", [4 * c, c]],
    ["dy", [rows, c]],
  ];
  return graphOf(inputs, (g, [x, w1, w2, dy]) => {
    const ut = g.op("Gemm", [w1, x], { transB: 1 });
    const dut = g.op("Gemm", [w2, dy], { transB: 1 });
    return [
      g.op("Gemm", [ut, w2], { transA: 1 }),
      g.op("Gemm", [dut, w1], { transA: 1 }),
      g.op("MatMul", [ut, dy]),
      g.op("MatMul", [dut, x]),
    ];
  });
}

function weightGradient(rows: number, m: number, n: number, transA: boolean): Uint8Array {
  const a: [string, number[]] = ["a", transA ? [rows, m] : [m, rows]];
  const b: [string, number[]] = ["b", transA ? [rows, n] : [n, rows]];
  return graphOf([a, b], (g, [x, y]) => [
    transA ? g.op("Gemm", [x, y], { transA: 1 }) : g.op("Gemm", [y, x], { transB: 1 }),
  ]);
}

export async function benchMlpLayout(repeats = 9): Promise<string[]> {
  const lines = [
    `Training MLP GEMMs (fc1, fc2 forward, input and weight gradients), median of ${repeats} (interleaved), ms`,
    "rows   channels  threads   rows form  hidden transposed  used",
  ];
  const weightLines = ["One weight gradient [rows, C]ᵀ × [rows, 4C], ms: transA  transB"];
  const rng = new Rng(5);
  const draw = (dims: Record<string, number[]>) =>
    Object.fromEntries(
      Object.entries(dims).map(([name, d]) => [
        name,
        float32(
          d,
          Float32Array.from({ length: numel(d) }, () => rng.normal()),
        ),
      ]),
    );
  /** Medians of two graphs run in turn, each on feeds of its own input shapes. */
  const timePair = async (
    threads: number,
    graphs: [Uint8Array, Uint8Array],
    dims: [Record<string, number[]>, Record<string, number[]>],
  ) => {
    const sessions = await Promise.all(graphs.map((m) => createSession(m, { threads, spinning: false })));
    const feeds = dims.map(draw);
    const [a, b] = await compareMs(
      () => sessions[0].run(feeds[0]),
      () => sessions[1].run(feeds[1]),
      repeats,
    );
    await Promise.all(sessions.map((s) => s.release()));
    return [a.median, b.median];
  };
  for (const [rows, c, threads] of SHAPES) {
    const h = 4 * c;
    const [rowsMs, transposedMs] = await timePair(
      threads,
      [rowsForm(rows, c), transposedForm(rows, c)],
      [
        { x: [rows, c], w1: [c, h], w2: [h, c], dy: [rows, c] },
        { x: [rows, c], w1: [h, c], w2: [h, c], dy: [rows, c] },
      ],
    );
    const used = holdsHiddenTransposed(rows, c) ? "transposed" : "rows";
    lines.push(
      `${String(rows).padEnd(6)} ${String(c).padStart(8)} ${String(threads).padStart(8)} ${rowsMs.toFixed(1).padStart(11)} ${transposedMs.toFixed(1).padStart(18)}  ${used}`,
    );
    const [aMs, bMs] = await timePair(
      threads,
      [weightGradient(rows, c, h, true), weightGradient(rows, c, h, false)],
      [
        { a: [rows, c], b: [rows, h] },
        { a: [c, rows], b: [h, rows] },
      ],
    );
    weightLines.push(`${rows}/${c}, ${threads} thread(s): ${aMs.toFixed(1)}  ${bMs.toFixed(1)}`);
  }
  return [...lines, "", ...weightLines];
}
