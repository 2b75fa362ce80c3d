/**
 * BatchNorm (Ioffe & Szegedy 2015) as PyTorch's `nn.BatchNorm{1,2}d` computes it, over channel axis 1.
 *
 * - Inference: ONNX `BatchNormalization` with the running statistics (onnxruntime fuses it into the preceding
 *   Conv when the weights are initializers). Its gradient rule treats the statistics as constants, which is
 *   what fine-tuning with frozen BatchNorm needs.
 * - Training: composed from primitives (ReduceMean, Sub, Mul, Sqrt, Reciprocal), so its gradient comes free
 *   through their rules, batch statistics included. The normalisation uses the biased batch variance; the
 *   running averages move by `momentum` towards the batch mean and the UNBIASED batch variance (× n/(n−1)),
 *   exactly as torch does. They are returned as values for the caller to emit as graph outputs.
 * - Folding: a BatchNorm in inference mode after a Conv is an affine map per output channel, so it can be
 *   folded into that Conv's weight and bias (`foldBatchNorm`).
 */
import { f, type Graph } from "../graph/graph.ts";
import { float32, type Float32Tensor, type HostTensor, numel, toFloat32 } from "../tensor/host-tensor.ts";
import { i64, type OpDef, reshape, scalar } from "./types.ts";

/** Value names of one BatchNorm's parameters (scale, bias) and buffers (running mean and variance). */
export interface BatchNormValues {
  scale: string;
  bias: string;
  mean: string;
  var: string;
}

/** The reduced axes (all but the channel axis 1) and the shape that broadcasts a [C] vector over x. */
function channelLayout(rank: number, c: number): { axes: number[]; perChannel: number[] } {
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  return { axes: [0, ...spatial], perChannel: [c, ...spatial.map(() => 1)] };
}

/** Inference mode: normalise with the running statistics. */
export function batchNormInference(g: Graph, x: string, v: BatchNormValues, eps: number): string {
  return g.op("BatchNormalization", [x, v.scale, v.bias, v.mean, v.var], { epsilon: f(eps) }, "bn");
}

export interface BatchNormTrainResult {
  y: string;
  /** Updated running mean and variance ([C]), to be stored by the host after the step. */
  runningMean: string;
  runningVar: string;
}

/** Training mode: batch statistics (needs a static input shape for the n/(n−1) factor). */
export function batchNormTraining(
  g: Graph,
  x: string,
  v: BatchNormValues,
  eps: number,
  momentum: number,
): BatchNormTrainResult {
  const xs = g.shape(x);
  const c = xs[1];
  const { axes, perChannel } = channelLayout(xs.length, c);
  const n = numel(xs) / c;
  if (n < 2) throw new Error(`BatchNorm in training mode needs more than 1 value per channel, input [${xs}]`);
  const ax = i64(g, axes);
  const mean = g.op("ReduceMean", [x, ax], { keepdims: 1 }, "bn_mean");
  const centered = g.op("Sub", [x, mean], {}, "bn_centered");
  const variance = g.op("ReduceMean", [g.op("Mul", [centered, centered]), ax], { keepdims: 1 }, "bn_var");
  const istd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, scalar(g, eps)])])], {}, "bn_istd");
  // scale·istd is per channel, so the full-size tensor sees one Mul and one Add.
  const gain = g.op("Mul", [istd, reshape(g, v.scale, perChannel)], {}, "bn_gain");
  const y = g.op("Add", [g.op("Mul", [centered, gain]), reshape(g, v.bias, perChannel)], {}, "bn");
  const ema = (running: string, batch: string, factor: number) =>
    g.op("Add", [
      g.op("Mul", [running, scalar(g, 1 - momentum)]),
      g.op("Mul", [reshape(g, batch, [c]), scalar(g, momentum * factor)]),
    ]);
  return { y, runningMean: ema(v.mean, mean, 1), runningVar: ema(v.var, variance, n / (n - 1)) };
}

export const batchNormOps = {
  BatchNormalization: {
    infer: (_g, n, [x]) => {
      if (n.attrs.training_mode) throw new Error(`BatchNormalization '${n.name}': training_mode is not used`);
      return [x];
    },
    // Frozen statistics: y = (x − mean)·k + B with k = scale/√(var+eps), so dx = dy·k,
    // dscale = Σ dy·(x − mean)/√(var+eps), dB = Σ dy. The statistics get no gradient.
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const [x, scale, , mean, variance] = n.inputs;
      const xs = g.shape(x);
      const { axes, perChannel } = channelLayout(xs.length, xs[1]);
      const eps = (n.attrs.epsilon as { f: number } | undefined)?.f ?? 1e-5;
      const istd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, scalar(g, eps)])])]);
      const dx = g.op("Mul", [dy, reshape(g, g.op("Mul", [scale, istd]), perChannel)], {}, "bn_dx");
      const xhat = g.op("Mul", [
        g.op("Sub", [x, reshape(g, mean, perChannel)]),
        reshape(g, istd, perChannel),
      ]);
      const ax = i64(g, axes);
      const dscale = g.op("ReduceSum", [g.op("Mul", [dy, xhat]), ax], { keepdims: 0 }, "bn_dscale");
      const dbias = g.op("ReduceSum", [dy, ax], { keepdims: 0 }, "bn_dbias");
      return [dx, dscale, dbias, undefined, undefined];
    },
  },
} satisfies Record<string, OpDef>;

/** A BatchNorm's weights: scale (γ), bias (β), running mean and variance, each [C]. */
export interface BatchNormWeights {
  scale: HostTensor;
  bias: HostTensor;
  mean: HostTensor;
  var: HostTensor;
}

/**
 * Folds an inference-mode BatchNorm into the Conv before it: with s = γ/√(var+eps),
 * W' = W·s (per output channel) and b' = (b − mean)·s + β. Computed in float64, stored as float32.
 */
export function foldBatchNorm(
  weight: HostTensor,
  bias: HostTensor | undefined,
  bn: BatchNormWeights,
  eps: number,
): { weight: Float32Tensor; bias: Float32Tensor } {
  const w = toFloat32(weight);
  const cout = w.dims[0];
  const perOut = numel(w.dims) / cout;
  const vec = (t: HostTensor, what: string) => {
    const v = toFloat32(t);
    if (v.data.length !== cout) {
      throw new Error(`cannot fold BatchNorm: ${what} has shape [${v.dims}], the conv weight [${w.dims}]`);
    }
    return v.data;
  };
  const gamma = vec(bn.scale, "scale");
  const beta = vec(bn.bias, "bias");
  const mean = vec(bn.mean, "running_mean");
  const variance = vec(bn.var, "running_var");
  const b = bias ? vec(bias, "conv bias") : new Float32Array(cout);
  const outW = new Float32Array(w.data.length);
  const outB = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = gamma[o] / Math.sqrt(variance[o] + eps);
    for (let i = o * perOut; i < (o + 1) * perOut; i++) outW[i] = w.data[i] * s;
    outB[o] = (b[o] - mean[o]) * s + beta[o];
  }
  return { weight: float32(w.dims, outW), bias: float32([cout], outB) };
}
