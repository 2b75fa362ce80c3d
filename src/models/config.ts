/**
 * ConvNeXt architecture as plain data: "A ConvNet for the 2020s" (Liu et al., CVPR 2022) and
 * "ConvNeXt V2" (Woo et al., CVPR 2023). Everything that builds, counts, loads or trains a model reads this.
 */

export interface ConvNeXtConfig {
  /** 1 = layer scale; 2 = GRN in the MLP and no layer scale. */
  version: 1 | 2;
  dims: number[];
  depths: number[];
  numClasses: number;
  inChans: number;
  /** Depthwise kernel size (7 in the paper). */
  kernelSize: number;
  /** Stem patchify conv kernel = stride (4). */
  patchSize: number;
  /** timm's small models: the MLP is a 1x1 conv in NCHW, fc weights are [out, in, 1, 1]. */
  convMlp: boolean;
  /** Layer scale init (1e-6); null means no layer scale (V2, or V1 without it). */
  layerScaleInit: number | null;
  mlpRatio: number;
  /** LayerNorm eps for stem, downsamplers and blocks (1e-6 everywhere in timm and official code). */
  normEps: number;
  /** NOTE: HF checkpoints carry `layer_norm_eps` (default 1e-12) for the head LN only. */
  headNormEps: number;
  /** Stochastic depth: rate rises linearly over all blocks to this value. */
  dropPathRate: number;
  /** Head weight and bias are multiplied by this at init (0.001 when fine-tuning). */
  headInitScale: number;
}

export const DEFAULT_CONFIG: Omit<ConvNeXtConfig, "dims" | "depths"> = {
  version: 1,
  numClasses: 1000,
  inChans: 3,
  kernelSize: 7,
  patchSize: 4,
  convMlp: false,
  layerScaleInit: 1e-6,
  mlpRatio: 4,
  normEps: 1e-6,
  headNormEps: 1e-6,
  dropPathRate: 0,
  headInitScale: 1,
};

export function makeConfig(
  partial: Partial<ConvNeXtConfig> & Pick<ConvNeXtConfig, "dims" | "depths">,
): ConvNeXtConfig {
  const cfg: ConvNeXtConfig = { ...DEFAULT_CONFIG, ...partial };
  if (cfg.version === 2 && partial.layerScaleInit === undefined) cfg.layerScaleInit = null;
  if (cfg.dims.length !== cfg.depths.length) {
    throw new Error(
      `dims (${cfg.dims.length} stages) and depths (${cfg.depths.length} stages) differ in length`,
    );
  }
  return cfg;
}

/** The model's total downsampling: stem patch × 2 per later stage; inputs must be at least this large. */
export function totalStride(cfg: ConvNeXtConfig): number {
  return cfg.patchSize * 2 ** (cfg.dims.length - 1);
}

/**
 * Throws a one-line error when `dims` is not an (N ≥ 1, inChans, H, W) input of at least the total stride.
 * NOTE: onnxruntime's kernels divide by the batch size; an empty batch kills the process (SIGFPE).
 */
export function checkInputDims(cfg: ConvNeXtConfig, dims: readonly number[], what = "input"): void {
  if (dims.length !== 4 || dims[1] !== cfg.inChans)
    throw new Error(`${what} must be (N, ${cfg.inChans}, H, W), got [${dims.join(", ")}]`);
  if (dims[0] < 1) throw new Error(`${what} holds no images (N = ${dims[0]}); at least one is needed`);
  const min = totalStride(cfg);
  if (dims[2] < min || dims[3] < min)
    throw new Error(`${what} ${dims[2]}x${dims[3]} is smaller than the model's total stride ${min}`);
}
