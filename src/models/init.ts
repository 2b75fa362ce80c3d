/**
 * Initial weights for training from scratch (reference.md §1): conv and linear weights truncated normal
 * std 0.02 (the paper's "0.2" is a typo), biases 0, LayerNorm weight 1 / bias 0, layer scale gamma =
 * layerScaleInit, GRN 0, head weight and bias × headInitScale.
 */
import { float32, type Float32Tensor, numel } from "../tensor/host-tensor.ts";
import type { ConvNeXtConfig } from "./config.ts";
import { paramShapes } from "./convnext.ts";

/** `normal` draws N(0,1); truncation at ±2 std as timm's trunc_normal_(std=.02) (bounds a=-2, b=2 absolute). */
export function initParams(cfg: ConvNeXtConfig, normal: () => number): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  // A true N(0, 1) lands outside ±2 one time in 22; a caller's function that never lands inside must not hang.
  const truncNormal = () => {
    for (let tries = 0; tries < 1000; tries++) {
      const v = normal();
      if (typeof v !== "number" || Number.isNaN(v))
        throw new Error(`initParams: normal() returned ${String(v)}, not a number`);
      if (v >= -2 && v <= 2) return 0.02 * v;
    }
    throw new Error(
      "initParams: normal() returned 1000 values in a row outside [-2, 2]; it must draw from N(0, 1)",
    );
  };
  for (const [name, dims] of paramShapes(cfg)) {
    const t = float32(dims);
    const leaf = name.split(".").slice(-2).join(".");
    if (name.endsWith(".gamma")) t.data.fill(cfg.layerScaleInit ?? 0);
    else if (leaf.startsWith("grn.")) t.data.fill(0);
    else if (name.endsWith(".bias")) t.data.fill(0);
    else if (dims.length === 1)
      t.data.fill(1); // LayerNorm weights
    else for (let i = 0; i < numel(dims); i++) t.data[i] = truncNormal();
    if (name.startsWith("head.fc.")) for (let i = 0; i < t.data.length; i++) t.data[i] *= cfg.headInitScale;
    out.set(name, t);
  }
  return out;
}
