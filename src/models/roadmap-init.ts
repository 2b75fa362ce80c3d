/**
 * Initial weights of a roadmap model for training from scratch, parameters and BatchNorm buffers together.
 *
 * One scheme for every step, the ConvNeXt code base's `_init_weights`: conv and linear weights truncated
 * normal std 0.02 (cut at ±2 absolute, as timm's trunc_normal_), biases 0, norm weights 1 and biases 0,
 * BatchNorm running mean 0 and variance 1, layer scale = the config's init.
 *
 * Why not torchvision's Kaiming init for the ResNet-style steps: the roadmap is a controlled experiment, every
 * row changing one design decision. The paper trains all of them in one code base with one recipe; switching the
 * init where the BatchNorms disappear (fewer_norms) would add a second change to that row. While every conv is
 * followed by a BatchNorm (steps 0–9), the conv weights' scale does not change the function, only AdamW's
 * effective step size, which weight decay pulls to the same equilibrium either way.
 */
import { float32, type Float32Tensor, numel } from "../tensor/host-tensor.ts";
import { type RoadmapConfig, type RoadmapNaming, roadmapParamShapes } from "./roadmap.ts";

/**
 * "trunc-normal": the ConvNeXt code base's scheme above. "kaiming": torchvision's ResNet scheme for conv
 * weights, normal with std √(2 / fan_out), fan_out = out channels × kernel area (torch's rule, which ignores
 * groups); linear weights stay trunc-normal.
 */
export type RoadmapInit = "trunc-normal" | "kaiming";

/** `normal` draws N(0,1). Returns every parameter and buffer of `buildRoadmap(cfg, { naming })`. */
export function initRoadmapParams(
  cfg: RoadmapConfig,
  normal: () => number,
  naming: RoadmapNaming = "roadmap",
  scheme: RoadmapInit = "trunc-normal",
): Map<string, Float32Tensor> {
  const truncNormal = () => {
    for (;;) {
      const v = normal();
      if (v >= -2 && v <= 2) return 0.02 * v;
    }
  };
  const draw = (dims: number[]): (() => number) => {
    if (scheme === "trunc-normal" || dims.length !== 4) return truncNormal;
    const std = Math.sqrt(2 / (dims[0] * dims[2] * dims[3]));
    return () => std * normal();
  };
  const { params, buffers } = roadmapParamShapes(cfg, naming);
  const out = new Map<string, Float32Tensor>();
  for (const [name, dims] of params) {
    const t = float32(dims);
    if (name.endsWith(".gamma")) t.data.fill(cfg.layerScale ?? 1);
    else if (name.endsWith(".bias")) t.data.fill(0);
    else if (dims.length === 1)
      t.data.fill(1); // norm weights
    else {
      const sample = draw(dims);
      for (let i = 0; i < numel(dims); i++) t.data[i] = sample();
    }
    out.set(name, t);
  }
  for (const [name, dims] of buffers) {
    const t = float32(dims);
    if (name.endsWith(".running_var")) t.data.fill(1);
    out.set(name, t);
  }
  return out;
}
