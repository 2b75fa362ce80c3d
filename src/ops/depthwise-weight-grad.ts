/**
 * The weight gradient of a stride-1, "same"-padded depthwise conv, one kernel row at a time as batched MatMuls.
 *
 * dW[c, i, j] = Σ_{n,h,w} dy[n,c,h,w] · x[n,c,h+i−r,w+j−r]. For each kernel row i, one MatMul batched over the
 * channels, dyᵀ [C, W, N·H] × x shifted by i rows [C, N·H, W], gives B_i[c, p, q] = Σ_{n,h} dy[…,p]·x[…,q]; the
 * taps j are then the sums along B_i's diagonals q − p = j − r, read by a MatMul with a constant 0/1 matrix.
 * That is W/k times the multiply-adds of the direct form, but in GEMM shape: onnxruntime runs the grouped Conv of
 * the direct form (see conv.ts) as one matrix–vector product per channel, far below GEMM speed. Used while the
 * map's width is at most `MAX_WIDTH_PER_TAP`·k (`npm run bench -- depthwise-grad`).
 *
 * The k shifted copies of x are made either as k `Slice`s, each with its own MatMul of width W, or, on wide maps
 * (`GATHER_MIN_WIDTH`, while k copies of x stay under `GATHER_MAX_VALUES`: the k slices are alive one at a
 * time), by one `Gather` of the rows into [C, N·H, k·W] and one MatMul k times as wide: the
 * products and their order of summation are the same, so both forms give the same bits. On small maps the k
 * narrow MatMuls are faster; on wide ones the wide MatMul is (same benchmark).
 */
import type { Graph } from "../graph/graph.ts";
import { float32, int64, numel } from "../tensor/host-tensor.ts";
import { i64, reshape, transpose } from "./types.ts";

/** The row form is used for widths up to this many times the kernel size. */
export const MAX_WIDTH_PER_TAP = 16;

/** From this width on, the shifted rows are gathered into one tensor for one MatMul... */
export const GATHER_MIN_WIDTH = 40;
/** ...unless that tensor, k times the size of x, would hold more values than this (512 MB). */
export const GATHER_MAX_VALUES = 2 ** 27;

export type ShiftedRows = "slices" | "gather";

/** dW [C, 1, k, k] of a depthwise conv of x [N, C, H, W] with padding (k − 1)/2, stride 1; dy [N, C, H, W]. */
export function depthwiseWeightGradByRows(
  g: Graph,
  x: string,
  dy: string,
  k: number,
  shifted: ShiftedRows = defaultShiftedRows(g.shape(x), k),
): string {
  const [batch, c, h, w] = g.shape(x);
  const r = (k - 1) / 2;
  const padded = g.op("Pad", [transpose(g, x, [1, 0, 2, 3]), i64(g, [0, 0, r, 0, 0, 0, r, 0])]); // [C, N, H+2r, W]
  // dyᵀ [C, W, N·H] in two steps, channels to the front, then a batched 2-D transpose: as one [1, 3, 0, 2]
  // permutation (which onnxruntime also merges with the NHWC → NCHW transpose before it) it moved single values
  // and took 10 ms of a convnext_atto 128² batch 32 step; the Reshape between keeps the two apart.
  const dyT = transpose(g, reshape(g, transpose(g, dy, [1, 0, 2, 3]), [c, batch * h, w]), [0, 2, 1]);
  const stacked = // [C, k, W·W]: B_i for each kernel row i
    shifted === "gather" ? gatheredRowProducts(g, padded, dyT, k) : slicedRowProducts(g, padded, dyT, k);
  const diagonals = g.constant(float32([w * w, k], diagonalSelector(w, k)), "diagonal_taps");
  return reshape(g, g.op("MatMul", [stacked, diagonals], {}, "dconv_w"), [c, 1, k, k]);
}

function defaultShiftedRows(xDims: number[], k: number): ShiftedRows {
  return xDims[3] >= GATHER_MIN_WIDTH && numel(xDims) * k <= GATHER_MAX_VALUES ? "gather" : "slices";
}

/** B_i = dyᵀ × (padded rows i … i+H−1), one Slice and one MatMul per kernel row. */
function slicedRowProducts(g: Graph, padded: string, dyT: string, k: number): string {
  const [c, batch, paddedH, w] = g.shape(padded);
  const h = paddedH - (k - 1);
  const rows: string[] = [];
  for (let i = 0; i < k; i++) {
    const shifted = g.op("Slice", [padded, i64(g, [i]), i64(g, [i + h]), i64(g, [2])]);
    const b = g.op("MatMul", [dyT, reshape(g, shifted, [c, batch * h, w])], {}, "dconv_w_row");
    rows.push(reshape(g, b, [c, 1, w * w]));
  }
  return g.op("Concat", rows, { axis: 1 });
}

/** The same products from one Gather of the rows, [C, N, H, k, W], and one MatMul over all k row windows. */
function gatheredRowProducts(g: Graph, padded: string, dyT: string, k: number): string {
  const [c, batch, paddedH, w] = g.shape(padded);
  const h = paddedH - (k - 1);
  const rowIndex = Array.from({ length: h * k }, (_, at) => Math.floor(at / k) + (at % k)); // row + i
  const windows = g.constant(int64([h, k], rowIndex), "row_windows");
  const gathered = g.op("Gather", [padded, windows], { axis: 2 }); // [C, N, H, k, W]
  const b = g.op("MatMul", [dyT, reshape(g, gathered, [c, batch * h, k * w])], {}, "dconv_w_rows"); // [C, W, k·W]
  return reshape(g, transpose(g, reshape(g, b, [c, w, k, w]), [0, 2, 1, 3]), [c, k, w * w]);
}

/** T[p·W + q, j] = 1 when q − p = j − r. */
function diagonalSelector(w: number, k: number): Float32Array {
  const r = (k - 1) / 2;
  const t = new Float32Array(w * w * k);
  for (let p = 0; p < w; p++) {
    for (let j = 0; j < k; j++) {
      const q = p + j - r;
      if (q >= 0 && q < w) t[(p * w + q) * k + j] = 1;
    }
  }
  return t;
}
