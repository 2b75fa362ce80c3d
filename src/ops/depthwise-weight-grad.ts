/**
 * The weight gradient of a stride-1, "same"-padded depthwise conv, one kernel row at a time as batched MatMuls.
 *
 * dW[c, i, j] = Σ_{n,h,w} dy[n,c,h,w] · x[n,c,h+i−r,w+j−r]. For each kernel row i, one MatMul batched over the
 * channels, dyᵀ [C, W, N·H] × x shifted by i rows [C, N·H, W], gives B_i[c, p, q] = Σ_{n,h} dy[…,p]·x[…,q]; the
 * taps j are then the sums along B_i's diagonals q − p = j − r, read by a MatMul with a constant 0/1 matrix.
 * That is W/k times the multiply-adds of the direct form, but in GEMM shape: onnxruntime runs the grouped Conv of
 * the direct form (see conv.ts) as one matrix–vector product per channel, far below GEMM speed. Used while the
 * map's width is at most `MAX_WIDTH_PER_TAP`·k (`npm run bench -- depthwise-grad`).
 */
import type { Graph } from "../graph/graph.ts";
import { float32 } from "../tensor/host-tensor.ts";
import { i64, reshape, transpose } from "./types.ts";

/** The row form is used for widths up to this many times the kernel size. */
export const MAX_WIDTH_PER_TAP = 16;

/** dW [C, 1, k, k] of a depthwise conv of x [N, C, H, W] with padding (k − 1)/2, stride 1; dy [N, C, H, W]. */
export function depthwiseWeightGradByRows(g: Graph, x: string, dy: string, k: number): string {
  const [batch, c, h, w] = g.shape(x);
  const r = (k - 1) / 2;
  const padded = g.op("Pad", [transpose(g, x, [1, 0, 2, 3]), i64(g, [0, 0, r, 0, 0, 0, r, 0])]); // [C, N, H+2r, W]
  // dyᵀ [C, W, N·H] in two steps, channels to the front, then a batched 2-D transpose: as one [1, 3, 0, 2]
  // permutation (which onnxruntime also merges with the NHWC → NCHW transpose before it) it moved single values
  // and took 10 ms of a convnext_atto 128² batch 32 step; the Reshape between keeps the two apart.
  const dyT = transpose(g, reshape(g, transpose(g, dy, [1, 0, 2, 3]), [c, batch * h, w]), [0, 2, 1]);
  const rows: string[] = [];
  for (let i = 0; i < k; i++) {
    const shifted = g.op("Slice", [padded, i64(g, [i]), i64(g, [i + h]), i64(g, [2])]);
    const b = g.op("MatMul", [dyT, reshape(g, shifted, [c, batch * h, w])], {}, "dconv_w_row");
    rows.push(reshape(g, b, [c, 1, w * w]));
  }
  const stacked = g.op("Concat", rows, { axis: 1 }); // [C, k, W·W]
  const diagonals = g.constant(float32([w * w, k], diagonalSelector(w, k)), "diagonal_taps");
  return reshape(g, g.op("MatMul", [stacked, diagonals], {}, "dconv_w"), [c, 1, k, k]);
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
