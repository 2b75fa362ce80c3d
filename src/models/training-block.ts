/**
 * The channels-last half of a ConvNeXt block — LayerNorm → fc1 → GELU → (GRN) → fc2 → layer scale — as the
 * training graph builds it: every per-channel constant is folded into the two weight matrices, so that fewer
 * passes run over the [N, H, W, 4C] and [N, H, W, C] tensors and the folding runs on the weights instead.
 * - The norm's affine part into fc1: (x̂·s + β)·W1ᵀ + b1 = x̂·(W1·diag s)ᵀ + (W1·β + b1). The norm runs without
 *   one, and its backward takes x̂ from its output and skips dy·s, dy·x̂ and two row sums (ops/norm.ts).
 * - GELU's 1/√2 into fc1 and its ½·√2 into fc2, leaving u·(1 + erf(u)) (ops/gelu.ts `ConvNeXtGeluScaled`).
 * - The layer scale γ into fc2's rows and bias: one elementwise Mul fewer forward and two backward.
 * The parameters stay graph inputs under their own names; their gradients flow back through these small weight
 * ops by the ordinary rules. Inference graphs fold the same way on the host instead (convnext.ts `foldLinear`).
 * Over many rows of at least 64 channels the hidden tensor is held transposed, [4C, rows], so that both weight
 * gradients are plain products (docs/training-step.md, "The hidden tensor transposed").
 */
import type { Graph } from "../graph/graph.ts";
import { geluScaledComposite } from "../ops/gelu.ts";
import { reshape, scalar, transpose } from "../ops/types.ts";
import { float32, numel } from "../tensor/host-tensor.ts";

export interface TrainingMlpParams {
  normWeight: string;
  normBias: string;
  fc1Weight: string;
  fc1Bias: string;
  fc2Weight: string;
  fc2Bias: string;
  /** Layer scale γ, if the model has one. */
  gamma?: string;
}

/**
 * x: the depthwise conv's output, channels last [N, H, W, C]; returns the MLP branch before drop path.
 * `between` (V2's GRN) runs on the GELU output, which it then gets unscaled.
 */
export function trainingMlp(
  g: Graph,
  x: string,
  p: TrainingMlpParams,
  eps: number,
  between?: (t: string) => string,
): string {
  const shape = g.shape(x);
  const c = shape.at(-1) as number;
  const rows = numel(shape.slice(0, -1));
  const w1 = reshape(g, p.fc1Weight, [-1, c]);
  const hidden = g.shape(w1)[0];
  const w2 = reshape(g, p.fc2Weight, [c, hidden]);
  const invSqrt2 = scalar(g, Math.SQRT1_2);
  const w1Folded = g.op("Mul", [w1, g.op("Mul", [p.normWeight, invSqrt2])], {}, "fc1_folded");
  const shift = reshape(g, g.op("MatMul", [w1, reshape(g, p.normBias, [c, 1])]), [hidden]);
  const b1Folded = g.op("Mul", [g.op("Add", [shift, p.fc1Bias]), invSqrt2]);
  // GRN is not linear in its input, so it gets GELU itself and fc2 no 1/√2.
  let rowScale: string | undefined = between ? undefined : invSqrt2;
  if (p.gamma) rowScale = rowScale ? g.op("Mul", [p.gamma, rowScale]) : p.gamma;
  const w2Folded = rowScale
    ? g.op("Mul", [w2, g.shape(rowScale).length ? reshape(g, rowScale, [c, 1]) : rowScale], {}, "fc2_folded")
    : w2;
  const b2Folded = p.gamma ? g.op("Mul", [p.fc2Bias, p.gamma]) : p.fc2Bias;

  const ones = g.constant(float32([c], new Float32Array(c).fill(1)), "ones");
  const [xhat] = g.add("LayerNormalization", [x, ones], { axis: -1, epsilon: { f: eps } }, 3, "ln");
  if (!between && holdsHiddenTransposed(rows, c)) {
    // Uᵀ = W1·X̂ᵀ [hidden, rows]; the weight gradients are then plain products over the rows (Uᵀ·dY and
    // dUᵀ·X̂), where the rows form takes both with the rows operand transposed (Gemm transA), which
    // onnxruntime runs up to 1.5× slower.
    const xRows = reshape(g, xhat, [rows, c]);
    const ut = g.op("Gemm", [w1Folded, xRows], { transB: 1 }, "linear_t");
    const yt = geluScaledComposite(g, g.op("Add", [ut, reshape(g, b1Folded, [hidden, 1])]));
    const out = g.op("Gemm", [yt, transpose(g, w2Folded, [1, 0])], { transA: 1 }, "linear");
    return reshape(g, g.op("Add", [out, b2Folded]), shape);
  }
  const u = g.op("Add", [g.op("MatMul", [xhat, transpose(g, w1Folded, [1, 0])]), b1Folded], {}, "linear");
  let y = geluScaledComposite(g, u); // √2·GELU
  if (between) y = between(g.op("Mul", [y, invSqrt2]));
  return g.op("Add", [g.op("MatMul", [y, transpose(g, w2Folded, [1, 0])]), b2Folded], {}, "linear");
}

/**
 * Whether the hidden tensor of an MLP over `rows` rows of `channels` pays to be held transposed. Measured on
 * the MLP alone, forward and backward (2 threads, ms, rows form → transposed): rows/channels 50176/96 182.8 →
 * 144.8, 12544/192 172.8 → 146.1, 3136/384 141.6 → 136.0, 784/768 134.1 → 140.2, 32768/40 25.7 → 27.2,
 * 8192/80 17.7 → 16.3; on 1 thread 25088/96 165.6 → 141.7, 1568/384 136.8 → 136.6. In convnext_tiny's whole
 * step the transposed form also adds a pass for fc1's bias (onnxruntime had fused it into the rows form's Gemm),
 * so stage 2 (3136/384) came out even (its GEMMs 1219 → 1229 ms of kernel time): hence rows ≥ 16 × channels.
 */
export function holdsHiddenTransposed(rows: number, channels: number): boolean {
  return channels >= 64 && rows >= 16 * channels;
}
