/**
 * ConvNeXt V1 ("A ConvNet for the 2020s", Liu et al., CVPR 2022) and V2 (Woo et al., CVPR 2023) as an ONNX
 * graph. Parameter names are timm's (the canonical names everywhere inside this project).
 *
 * Layout: convolutions run in NCHW (ONNX Conv); LayerNorms and the MLP run channels-last, after a Transpose,
 * which is how timm computes them. NOTE: "LayerNorm" is always over C alone at each pixel, never over (C,H,W).
 */
import { type Dim, f, Graph } from "../graph/graph.ts";
import "../ops/index.ts";
import { geluComposite } from "../ops/gelu.ts";
import { i64, reshape, scalar, transpose } from "../ops/types.ts";
import { float32, type HostTensor, toFloat32 } from "../tensor/host-tensor.ts";
import type { ConvNeXtConfig } from "./config.ts";
import { trainingMlp } from "./training-block.ts";

export const FEATURE_OUTPUTS = [
  "stem",
  "stage0",
  "stage1",
  "stage2",
  "stage3",
  "pre_logits",
  "logits",
] as const;
export type FeatureName = (typeof FEATURE_OUTPUTS)[number];

/** Checks requested feature names (graph outputs; from a command line or a JavaScript caller) against the model's. */
export function checkFeatures(names: readonly string[], config: ConvNeXtConfig): FeatureName[] {
  if (!Array.isArray(names) || names.length === 0)
    throw new Error(`no features requested (known: ${FEATURE_OUTPUTS.join(", ")})`);
  for (const n of names) {
    if (!(FEATURE_OUTPUTS as readonly string[]).includes(n)) {
      throw new Error(`unknown feature '${String(n)}' (known: ${FEATURE_OUTPUTS.join(", ")})`);
    }
    if (n === "logits" && config.numClasses === 0)
      throw new Error("feature 'logits': the model has no classifier head");
  }
  return [...new Set(names)] as FeatureName[];
}

export interface BuildOptions {
  /** Graph outputs, by name (default: logits). */
  outputs?: readonly FeatureName[];
  /** Weights baked in as initializers; without them, every parameter is a graph input (training). */
  weights?: Map<string, HostTensor>;
  /** Input shape; default [batch_size, inChans, height, width] with symbolic batch and size. */
  inputShape?: Dim[];
  /**
   * Training graph: LayerNorms also output Mean/InvStdDev for the backward pass, and (dropPathRate > 0)
   * each block takes a per-sample mask input `drop_path.<i>` of shape [N,1,1,1] (0 or 1/keep).
   */
  training?: boolean;
  /**
   * The residual stream stays channels-last (NHWC) between blocks, so each block is Transpose → depthwise Conv →
   * Transpose → LN → MLP → Add with no transpose back to NCHW. At inference onnxruntime folds both remaining
   * transposes into its NCHWc reorders (ReorderInput/ReorderOutput with channels_last), so the only layout passes
   * left are the ones the depthwise conv needs anyway; training steps whose depthwise convs run on those kernels
   * get the same folding from ops/depthwise-nchwc.ts. Feature outputs are still NCHW.
   */
  channelsLast?: boolean;
}

export interface BuiltModel {
  graph: Graph;
  /** Parameter names in timm order, with shapes. */
  params: Map<string, number[]>;
  /** Names of drop-path mask inputs with their survival probabilities (training only). */
  dropPath: { name: string; keep: number }[];
}

/** Every parameter of the model, timm name → shape, in timm's state_dict order. */
export function paramShapes(cfg: ConvNeXtConfig): Map<string, number[]> {
  const p = new Map<string, number[]>();
  const [d0] = cfg.dims;
  p.set("stem.0.weight", [d0, cfg.inChans, cfg.patchSize, cfg.patchSize]);
  p.set("stem.0.bias", [d0]);
  p.set("stem.1.weight", [d0]);
  p.set("stem.1.bias", [d0]);
  cfg.dims.forEach((d, s) => {
    if (s > 0) {
      const prev = cfg.dims[s - 1];
      p.set(`stages.${s}.downsample.0.weight`, [prev]);
      p.set(`stages.${s}.downsample.0.bias`, [prev]);
      p.set(`stages.${s}.downsample.1.weight`, [d, prev, 2, 2]);
      p.set(`stages.${s}.downsample.1.bias`, [d]);
    }
    const hidden = cfg.mlpRatio * d;
    const fc = (o: number, i: number) => (cfg.convMlp ? [o, i, 1, 1] : [o, i]);
    for (let b = 0; b < cfg.depths[s]; b++) {
      const k = `stages.${s}.blocks.${b}`;
      if (cfg.layerScaleInit !== null) p.set(`${k}.gamma`, [d]);
      p.set(`${k}.conv_dw.weight`, [d, 1, cfg.kernelSize, cfg.kernelSize]);
      p.set(`${k}.conv_dw.bias`, [d]);
      p.set(`${k}.norm.weight`, [d]);
      p.set(`${k}.norm.bias`, [d]);
      p.set(`${k}.mlp.fc1.weight`, fc(hidden, d));
      p.set(`${k}.mlp.fc1.bias`, [hidden]);
      if (cfg.version === 2) {
        p.set(`${k}.mlp.grn.weight`, [hidden]);
        p.set(`${k}.mlp.grn.bias`, [hidden]);
      }
      p.set(`${k}.mlp.fc2.weight`, fc(d, hidden));
      p.set(`${k}.mlp.fc2.bias`, [d]);
    }
  });
  const last = cfg.dims[cfg.dims.length - 1];
  p.set("head.norm.weight", [last]);
  p.set("head.norm.bias", [last]);
  if (cfg.numClasses > 0) {
    p.set("head.fc.weight", [cfg.numClasses, last]);
    p.set("head.fc.bias", [cfg.numClasses]);
  }
  return p;
}

/** Builds the forward graph. Input `x` is NCHW float32. */
export function buildConvNeXt(cfg: ConvNeXtConfig, opts: BuildOptions = {}): BuiltModel {
  const outputs = checkFeatures(opts.outputs ?? ["logits"], cfg);
  const training = opts.training ?? false;
  const cl = opts.channelsLast ?? false;
  const g = new Graph("convnext");
  const shapes = paramShapes(cfg);
  const values = new Map<string, string>();
  for (const [name, dims] of shapes) {
    if (!opts.weights) values.set(name, g.input(name, "float32", dims));
    else if (!opts.weights.has(name)) throw new Error(`weights lack '${name}' [${dims.join(", ")}]`);
  }
  /** A parameter's value: a graph input (training) or, created on first use, an initializer. */
  const P = (name: string): string => {
    let v = values.get(name);
    if (!v) {
      v = g.initializer(name, opts.weights!.get(name)!);
      values.set(name, v);
    }
    return v;
  };
  const inputShape = opts.inputShape ?? ["batch_size", cfg.inChans, "height", "width"];
  const x = g.input("x", "float32", inputShape);
  const dropPath: BuiltModel["dropPath"] = [];
  const nhwc = (t: string) => transpose(g, t, [0, 2, 3, 1]);
  const nchw = (t: string) => transpose(g, t, [0, 3, 1, 2]);
  const ln = (t: string, prefix: string, eps: number) =>
    g.add(
      "LayerNormalization",
      [t, P(`${prefix}.weight`), P(`${prefix}.bias`)],
      { axis: -1, epsilon: f(eps) },
      training ? 3 : 1,
      "ln",
    )[0];
  /**
   * Linear layer on channels-last input; conv_mlp checkpoints store the weight as [out, in, 1, 1].
   * With baked weights the transposed weight is stored directly and a following layer scale is folded in
   * (γ·(Wx + b) = (γW)x + γb), which saves one elementwise pass per block.
   */
  const linear = (t: string, prefix: string, scale?: string) => {
    const [o, i] = shapes.get(`${prefix}.weight`)!;
    if (opts.weights) {
      const { weight, bias } = foldLinear(opts.weights, prefix, [o, i], scale);
      return g.op(
        "Add",
        [
          g.op("MatMul", [t, g.initializer(`${prefix}.weight_t`, weight)]),
          g.initializer(`${prefix}.bias_folded`, bias),
        ],
        {},
        "linear",
      );
    }
    let w = P(`${prefix}.weight`);
    if (cfg.convMlp) w = reshape(g, w, [o, i]);
    let y = g.op("Add", [g.op("MatMul", [t, transpose(g, w, [1, 0])]), P(`${prefix}.bias`)], {}, "linear");
    if (scale) y = g.op("Mul", [y, P(scale)], {}, "layer_scale");
    return y;
  };
  // Every graph output declares its shape (ONNX checkers require one): static when the input is, else
  // symbolic, each feature map's spatial size with a name of its own since it is the input's divided down.
  const outputDims = (name: FeatureName, t: string, channels: number): Dim[] =>
    g.shapes.get(t) ??
    (name === "logits" || name === "pre_logits"
      ? [inputShape[0], channels]
      : [inputShape[0], channels, `${name}_height`, `${name}_width`]);
  /** A feature output; `t` is channels-last when `nhwcValue` (the channelsLast stream), emitted as NCHW. */
  const emit = (name: FeatureName, t: string, channels: number, nhwcValue = false) => {
    if (outputs.includes(name)) {
      const y = g.op("Identity", [nhwcValue ? nchw(t) : t], {}, name);
      g.output(y, outputDims(name, y, channels));
    }
  };

  // Stem: patchify conv, then LN (norm after the conv; the downsamplers put it before).
  const p = cfg.patchSize;
  let h = g.op(
    "Conv",
    [x, P("stem.0.weight"), P("stem.0.bias")],
    { kernel_shape: [p, p], strides: [p, p] },
    "stem_conv",
  );
  h = ln(nhwc(h), "stem.1", cfg.normEps);
  if (!cl) h = nchw(h);
  emit("stem", h, cfg.dims[0], cl);

  const totalBlocks = cfg.depths.reduce((a, b) => a + b, 0);
  let blockIndex = 0;
  for (let s = 0; s < cfg.dims.length; s++) {
    const d = cfg.dims[s];
    if (s > 0) {
      const k = `stages.${s}.downsample`;
      h = nchw(ln(cl ? h : nhwc(h), `${k}.0`, cfg.normEps));
      h = g.op(
        "Conv",
        [h, P(`${k}.1.weight`), P(`${k}.1.bias`)],
        { kernel_shape: [2, 2], strides: [2, 2] },
        "downsample",
      );
      if (cl) h = nhwc(h);
    }
    for (let b = 0; b < cfg.depths[s]; b++, blockIndex++) {
      const k = `stages.${s}.blocks.${b}`;
      const pad = Math.floor(cfg.kernelSize / 2);
      const inferenceMlp = (t: string) => {
        // The MLP stays 4-D ([N, H, W, C] rows): onnxruntime then runs fc1 as MatMul + BiasGelu. Flattened to
        // 2-D rows, it fused each bias into a Gemm instead, which broadcasts the bias over the output on one
        // thread first: 4-D measured 8% faster at batch 1 on 2 threads, 1-2% slower on 1 (ConvNeXt-T).
        let y = ln(nhwc(t), `${k}.norm`, cfg.normEps);
        const hidden = linear(y, `${k}.mlp.fc1`);
        y = training ? geluComposite(g, hidden) : gelu(g, hidden);
        if (cfg.version === 2) y = grn(g, y, P(`${k}.mlp.grn.weight`), P(`${k}.mlp.grn.bias`));
        y = linear(y, `${k}.mlp.fc2`, cfg.layerScaleInit !== null ? `${k}.gamma` : undefined);
        return y;
      };
      let y = g.op(
        "Conv",
        [cl ? nchw(h) : h, P(`${k}.conv_dw.weight`), P(`${k}.conv_dw.bias`)],
        { kernel_shape: [cfg.kernelSize, cfg.kernelSize], pads: [pad, pad, pad, pad], group: d },
        "dwconv",
      );
      if (training && !opts.weights) {
        const hasGamma = cfg.layerScaleInit !== null;
        y = trainingMlp(
          g,
          nhwc(y),
          {
            normWeight: P(`${k}.norm.weight`),
            normBias: P(`${k}.norm.bias`),
            fc1Weight: P(`${k}.mlp.fc1.weight`),
            fc1Bias: P(`${k}.mlp.fc1.bias`),
            fc2Weight: P(`${k}.mlp.fc2.weight`),
            fc2Bias: P(`${k}.mlp.fc2.bias`),
            gamma: hasGamma ? P(`${k}.gamma`) : undefined,
          },
          cfg.normEps,
          cfg.version === 2 ? (t) => grn(g, t, P(`${k}.mlp.grn.weight`), P(`${k}.mlp.grn.bias`)) : undefined,
        );
      } else y = inferenceMlp(y);
      if (!cl) y = nchw(y);
      const rate = totalBlocks > 1 ? (cfg.dropPathRate * blockIndex) / (totalBlocks - 1) : 0;
      if (training && rate > 0) {
        const batch = inputShape[0];
        const mask = g.input(`drop_path.${blockIndex}`, "float32", [batch, 1, 1, 1]);
        dropPath.push({ name: mask, keep: 1 - rate });
        y = g.op("Mul", [y, mask], {}, "drop_path");
      }
      h = g.op("Add", [h, y], {}, "residual");
    }
    emit(`stage${s}` as FeatureName, h, d, cl);
  }

  // Head: global average pool → LN → Linear.
  const pooled = g.op("ReduceMean", [h, i64(g, cl ? [1, 2] : [2, 3])], { keepdims: 0 }, "pool");
  const pre = ln(pooled, "head.norm", cfg.headNormEps);
  emit("pre_logits", pre, cfg.dims[cfg.dims.length - 1]);
  if (cfg.numClasses > 0) {
    const logits = g.op("Gemm", [pre, P("head.fc.weight"), P("head.fc.bias")], { transB: 1 }, "logits");
    if (outputs.includes("logits")) g.output(logits, outputDims("logits", logits, cfg.numClasses));
  }
  return { graph: g, params: shapes, dropPath };
}

/** GELU, exact erf form (never tanh): x·½·(1 + erf(x/√2)). Written in the pattern ORT fuses for inference. */
export function gelu(g: Graph, x: string): string {
  const e = g.op("Erf", [g.op("Div", [x, scalar(g, Math.SQRT2)])]);
  return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, scalar(g, 1)])]), scalar(g, 0.5)], {}, "gelu");
}

/**
 * Global Response Normalization (ConvNeXt V2) on channels-last input:
 * Gx = ‖x‖₂ over (H,W) per channel; Nx = Gx / (mean_c Gx + 1e-6); y = γ·(x·Nx) + β + x.
 */
export function grn(g: Graph, x: string, gamma: string, beta: string): string {
  const gx = g.op("ReduceL2", [x, i64(g, [1, 2])], { keepdims: 1 }, "grn_gx");
  const nx = g.op("Div", [
    gx,
    g.op("Add", [g.op("ReduceMean", [gx, i64(g, [-1])], { keepdims: 1 }), scalar(g, 1e-6)]),
  ]);
  const scaled = g.op("Mul", [gamma, g.op("Mul", [x, nx])]);
  return g.op("Add", [g.op("Add", [scaled, beta]), x], {}, "grn");
}

/** A linear layer's weight transposed to [in, out] with an optional per-output scale folded into weight and bias. */
function foldLinear(weights: Map<string, HostTensor>, prefix: string, [o, i]: number[], scale?: string) {
  const w = toFloat32(weights.get(`${prefix}.weight`)!).data;
  const b = toFloat32(weights.get(`${prefix}.bias`)!).data;
  const s = scale ? toFloat32(weights.get(scale)!).data : undefined;
  const wt = new Float32Array(o * i);
  for (let r = 0; r < o; r++) {
    const f = s ? s[r] : 1;
    for (let c = 0; c < i; c++) wt[c * o + r] = w[r * i + c] * f;
  }
  return {
    weight: float32([i, o], wt),
    bias: float32(
      [o],
      Float32Array.from(b, (v, r) => v * (s ? s[r] : 1)),
    ),
  };
}
