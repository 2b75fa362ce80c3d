/**
 * Conv (any groups, strides, pads) and its gradient rules, in the formulations that onnxruntime runs
 * fast (docs/training-graphs.md):
 * - input gradient, stride 1: a Conv of dy with the spatially flipped (regrouped) kernel; ConvTranspose is
 *   5x slower for depthwise kernels, so it is used only for strided convs, where it is a plain GEMM.
 * - weight gradient: one grouped Conv with the batch folded into the channels and dy as the kernel,
 *   dilated by the forward stride; for "same"-padded depthwise convs on narrow maps, kernel row by kernel row
 *   as batched MatMuls (depthwise-weight-grad.ts).
 * On onnxruntime-node the step's depthwise convs (forward and input gradient) are then moved to its NCHWc kernels
 * (depthwise-nchwc.ts).
 */
import type { Graph, Node } from "../graph/graph.ts";
import { depthwiseWeightGradByRows, MAX_WIDTH_PER_TAP } from "./depthwise-weight-grad.ts";
import { float32 } from "../tensor/host-tensor.ts";
import { i64, type OpDef, reshape, type Shape, sumRows, transpose } from "./types.ts";

interface ConvGeometry {
  kernel: number[];
  strides: number[];
  pads: number[]; // [begin..., end...]
  dilations: number[];
  group: number;
}

function geometry(n: Node, w: Shape): ConvGeometry {
  const sp = w.length - 2;
  const ones = new Array(sp).fill(1);
  return {
    kernel: (n.attrs.kernel_shape as number[] | undefined) ?? w.slice(2),
    strides: (n.attrs.strides as number[] | undefined) ?? ones,
    pads: (n.attrs.pads as number[] | undefined) ?? new Array(2 * sp).fill(0),
    dilations: (n.attrs.dilations as number[] | undefined) ?? ones,
    group: (n.attrs.group as number | undefined) ?? 1,
  };
}

export function convOutSize(size: number, k: number, s: number, pb: number, pe: number, d = 1): number {
  return Math.floor((size + pb + pe - d * (k - 1) - 1) / s) + 1;
}

function inferConv(_g: Graph, n: Node, [x, w]: Shape[]): Shape[] {
  const geo = geometry(n, w);
  const sp = x.length - 2;
  const out = [x[0], w[0]];
  for (let i = 0; i < sp; i++) {
    out.push(
      convOutSize(x[i + 2], geo.kernel[i], geo.strides[i], geo.pads[i], geo.pads[i + sp], geo.dilations[i]),
    );
  }
  if (x[1] !== w[1] * geo.group)
    throw new Error(`Conv '${n.name}': input [${x}] does not fit weight [${w}] with group ${geo.group}`);
  return [out];
}

/** Kernel flipped on both spatial axes, with in/out channels swapped within each group. */
function flippedTransposedKernel(g: Graph, w: string, group: number): string {
  const [cout, cinG, kh, kw] = g.shape(w);
  let wt = w;
  if (cinG !== 1 || cout !== group) {
    const coutG = cout / group;
    wt = reshape(g, w, [group, coutG, cinG, kh, kw]);
    wt = transpose(g, wt, [0, 2, 1, 3, 4]);
    wt = reshape(g, wt, [group * cinG, coutG, kh, kw]);
  }
  const big = Number.MIN_SAFE_INTEGER;
  return g.op("Slice", [wt, i64(g, [-1, -1]), i64(g, [big, big]), i64(g, [2, 3]), i64(g, [-1, -1])]);
}

function inputGrad(g: Graph, n: Node, dy: string): string {
  const [x, w] = n.inputs;
  const xs = g.shape(x);
  const ws = g.shape(w);
  const geo = geometry(n, ws);
  if (geo.strides.every((s) => s === 1)) {
    const pads = geo.pads.map((p, i) => geo.kernel[i % 2] - 1 - p);
    return g.op(
      "Conv",
      [dy, flippedTransposedKernel(g, w, geo.group)],
      { pads, group: geo.group },
      "dconv_x",
    );
  }
  const ys = g.shape(dy);
  const outputPadding = [0, 1].map(
    (i) => xs[i + 2] - (geo.strides[i] * (ys[i + 2] - 1) + geo.kernel[i] - geo.pads[i] - geo.pads[i + 2]),
  );
  return g.op(
    "ConvTranspose",
    [dy, w],
    { strides: geo.strides, pads: geo.pads, group: geo.group, output_padding: outputPadding },
    "dconv_x",
  );
}

/** A stride-1, undilated depthwise Conv with an odd square kernel, padded to keep the map's size. */
export function isSameDepthwise(n: Node, x: Shape, w: Shape): boolean {
  if (n.op !== "Conv" || n.domain || x.length !== 4 || w.length !== 4) return false;
  const geo = geometry(n, w);
  const [cout, cinG, kh, kw] = w;
  const r = (kh - 1) / 2;
  return (
    cinG === 1 &&
    cout === x[1] &&
    geo.group === x[1] &&
    kh === kw &&
    kh % 2 === 1 &&
    geo.strides.every((s) => s === 1) &&
    geo.dilations.every((d) => d === 1) &&
    geo.pads.every((p) => p === r) &&
    n.attrs.auto_pad === undefined
  );
}

function weightGrad(g: Graph, n: Node, dy: string): string {
  const [x, w] = n.inputs;
  const xs = g.shape(x);
  const k = g.shape(w)[3];
  if (isSameDepthwise(n, xs, g.shape(w)) && xs[3] <= MAX_WIDTH_PER_TAP * k) {
    return depthwiseWeightGradByRows(g, x, dy, k);
  }
  return weightGradByConv(g, n, dy);
}

/** The direct form: one grouped Conv with the batch folded into the channels. */
export function weightGradByConv(g: Graph, n: Node, dy: string): string {
  const [x, w] = n.inputs;
  const [batch, , h, wd] = g.shape(x);
  const [cout, cinG, kh, kw] = g.shape(w);
  const [, , ho, wo] = g.shape(dy);
  const geo = geometry(n, g.shape(w));
  const G = geo.group;
  // Batch folded into channels: x as [Cin/G, G*N, H, W], dy as the kernel [Cout, N, Ho, Wo].
  const xr =
    G === 1
      ? transpose(g, x, [1, 0, 2, 3])
      : reshape(g, transpose(g, reshape(g, x, [batch, G, cinG, h, wd]), [2, 1, 0, 3, 4]), [
          cinG,
          G * batch,
          h,
          wd,
        ]);
  const dyr =
    G === 1
      ? transpose(g, dy, [1, 0, 2, 3])
      : reshape(g, transpose(g, reshape(g, dy, [batch, G, cout / G, ho, wo]), [1, 2, 0, 3, 4]), [
          cout,
          batch,
          ho,
          wo,
        ]);
  let dw = g.op("Conv", [xr, dyr], { pads: geo.pads, dilations: geo.strides, group: G }, "dconv_w");
  const [, , gh, gw] = g.shape(dw);
  if (gh !== kh || gw !== kw) dw = g.op("Slice", [dw, i64(g, [0, 0]), i64(g, [kh, kw]), i64(g, [2, 3])]);
  // [Cin/G, Cout, k, k] -> [Cout, Cin/G, k, k]
  return cinG === 1 ? reshape(g, dw, [cout, 1, kh, kw]) : transpose(g, dw, [1, 0, 2, 3]);
}

/** Σ over N, H, W of dy [N, C, H, W] as two GEMMs with ones (see `sumRows`): per-map sums, then over the batch. */
function biasGrad(g: Graph, dy: string): string {
  const [batch, c, ...spatial] = g.shape(dy);
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const ones = g.constant(float32([pixels, 1], new Float32Array(pixels).fill(1)), "ones_col");
  const perMap = g.op("MatMul", [reshape(g, dy, [batch * c, pixels]), ones]);
  return reshape(g, sumRows(g, reshape(g, perMap, [batch, c])), [c]);
}

export const convOps = {
  Conv: {
    infer: inferConv,
    grad: (g, n, [dy], needs) => {
      if (!dy) return [];
      if (geometry(n, g.shape(n.inputs[1])).dilations.some((d) => d !== 1)) {
        throw new Error(`Conv gradient: dilations are not supported (node '${n.name}')`);
      }
      const grads: (string | undefined)[] = [
        needs[0] ? inputGrad(g, n, dy) : undefined,
        needs[1] ? weightGrad(g, n, dy) : undefined,
      ];
      if (n.inputs[2] && needs[2]) grads.push(biasGrad(g, dy));
      return grads;
    },
  },
  ConvTranspose: {
    infer: (_g, n, [x, w]) => {
      const geo = geometry(n, w);
      const op = (n.attrs.output_padding as number[] | undefined) ?? [0, 0];
      const out = [x[0], w[1] * geo.group];
      for (let i = 0; i < 2; i++) {
        out.push(geo.strides[i] * (x[i + 2] - 1) + op[i] + geo.kernel[i] - geo.pads[i] - geo.pads[i + 2]);
      }
      return [out];
    },
  },
  MaxPool: {
    infer: (_g, n, [x]) => {
      const k = n.attrs.kernel_shape as number[];
      const s = (n.attrs.strides as number[] | undefined) ?? [1, 1];
      const p = (n.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
      return [
        [x[0], x[1], convOutSize(x[2], k[0], s[0], p[0], p[2]), convOutSize(x[3], k[1], s[1], p[1], p[3])],
      ];
    },
  },
} satisfies Record<string, OpDef>;
