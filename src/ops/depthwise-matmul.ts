/**
 * Depthwise convolutions on small feature maps, rewritten as one batched MatMul for the training graph.
 *
 * onnxruntime runs a depthwise Conv whose weight is a graph input (as in training, where the weights change each
 * step) as one small im2col + GEMM per image and channel: at 4×4 or 8×8 pixels that per-call overhead is most of
 * the time, and the same holds for the gradient convs. On an H×W map, "same"-padded depthwise conv is, per channel,
 * a linear map of the H·W pixels: y_c = x_c · A_c with A_c[q, p] = w_c[q − p + r] (zero outside the kernel).
 * A_c is built from the kernel by one MatMul with a constant 0/1 matrix, so the whole rewrite is MatMul, Reshape
 * and Transpose, whose gradient rules already exist: the weight gradient arrives as dA · Sᵀ.
 *
 * The dense form costs H·W multiply-adds per output pixel instead of k², so it pays only where H·W is a small
 * multiple of k². Measured (training step, median of 7, interleaved): convnext_atto 128² b32 615 → 497 ms with
 * maps up to 16×16 under the 7×7 kernel (H·W = 5.2·k²), convnext_tiny 224² b16 4.64 → 4.14 s with 14×14 (4·k²);
 * for 3×3 kernels 8×8 (7·k²) pays and 16×16 (28·k²) no longer does.
 */
import type { Graph, Node } from "../graph/graph.ts";
import { replaceNodes } from "../graph/rewrite.ts";
import { float32 } from "../tensor/host-tensor.ts";
import { isSameDepthwise } from "./conv.ts";
import { reshape, transpose } from "./types.ts";

/** Rewrite when the map has at most this many pixels per kernel tap (H·W ≤ 8·k²). */
export const DENSE_DEPTHWISE_MAX_PIXELS_PER_TAP = 8;

/**
 * Where the step's other depthwise convs run on onnxruntime's NCHWc kernels (ops/depthwise-nchwc.ts), the dense
 * form pays only up to 8×8 maps. Measured (step medians, interleaved): dense on 8×8 against NCHWc there,
 * convnext_atto 128² b32 353 vs 362 ms (7×7 kernel) and the Fashion-MNIST model 449 vs 469 ms (3×3); NCHWc on
 * 16×16 and 14×14 against dense there, convnext_atto 372 → 344 ms and convnext_tiny 224² b16 4.49 → 4.06 s.
 */
export const DENSE_DEPTHWISE_MAX_PIXELS_BESIDE_NCHWC = 64;

/**
 * Replaces each stride-1, "same"-padded depthwise Conv on maps of at most `maxPixelsPerTap`·k² pixels, and at
 * most `maxPixels`, by its dense MatMul form, in place and in order; the Conv's output name is kept so every
 * consumer still finds it. Returns how many convs were rewritten.
 */
export function depthwiseConvsAsMatMul(
  g: Graph,
  maxPixelsPerTap = DENSE_DEPTHWISE_MAX_PIXELS_PER_TAP,
  maxPixels = Number.POSITIVE_INFINITY,
): number {
  const selections = new Map<string, string>();
  return replaceNodes(
    g,
    (n) => isSmallSameDepthwise(g, n, maxPixelsPerTap, maxPixels),
    (n) => emitDense(g, n, selections),
  );
}

function isSmallSameDepthwise(g: Graph, n: Node, maxPixelsPerTap: number, maxPixels: number): boolean {
  const xs = g.shapes.get(n.inputs[0]);
  const ws = g.shapes.get(n.inputs[1]);
  if (!xs || !ws || !isSameDepthwise(n, xs, ws)) return false;
  const pixels = xs[2] * xs[3];
  return pixels <= maxPixelsPerTap * ws[2] * ws[3] && pixels <= maxPixels;
}

function emitDense(g: Graph, n: Node, selections: Map<string, string>): string {
  const [x, w, b] = n.inputs;
  const [batch, c, h, wd] = g.shape(x);
  const k = g.shape(w)[2];
  const pixels = h * wd;
  const key = `${h}x${wd}k${k}`;
  let sel = selections.get(key);
  if (!sel) {
    sel = g.initializer("depthwise_select", float32([k * k, pixels * pixels], selectionMatrix(h, wd, k)));
    selections.set(key, sel);
  }
  // A[c, q, p]: how much input pixel q contributes to output pixel p in channel c.
  const a = reshape(g, g.op("MatMul", [reshape(g, w, [c, k * k]), sel]), [c, pixels, pixels]);
  const xc = transpose(g, reshape(g, x, [batch, c, pixels]), [1, 0, 2]);
  let y = g.op("MatMul", [xc, a], {}, "dwconv_dense");
  if (b) y = g.op("Add", [y, reshape(g, b, [c, 1, 1])]);
  return reshape(g, transpose(g, y, [1, 0, 2]), [batch, c, h, wd]);
}

/** S[i·k + j, q·P + p] = 1 when input pixel q sits at kernel tap (i, j) of output pixel p. */
function selectionMatrix(h: number, w: number, k: number): Float32Array {
  const r = (k - 1) / 2;
  const pixels = h * w;
  const s = new Float32Array(k * k * pixels * pixels);
  for (let ph = 0; ph < h; ph++) {
    for (let pw = 0; pw < w; pw++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const qh = ph + i - r;
          const qw = pw + j - r;
          if (qh < 0 || qh >= h || qw < 0 || qw >= w) continue;
          s[(i * k + j) * pixels * pixels + (qh * w + qw) * pixels + (ph * w + pw)] = 1;
        }
      }
    }
  }
  return s;
}
