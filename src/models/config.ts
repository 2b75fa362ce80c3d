/**
 * ConvNeXt architecture as plain data: "A ConvNet for the 2020s" (Liu et al., CVPR 2022) and
 * "ConvNeXt V2" (Woo et al., CVPR 2023). Everything that builds, counts, loads or trains a model reads this.
 */

import {
  describeData,
  type HostTensor,
  isNonNegativeIntList,
  numel,
  shapeString,
} from "../tensor/host-tensor.ts";
import { configProblem } from "./config-sanity.ts";

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
  fail: (why: string) => Error = (why) => new Error(`model config: ${why}`),
): ConvNeXtConfig {
  // From JavaScript a misspelt field would silently keep its default (`numclasses: 5` gave 1000 classes).
  const unknown = Object.keys(partial).find((k) => !CONFIG_FIELDS.includes(k));
  if (unknown !== undefined) throw fail(`unknown field '${unknown}' (known: ${CONFIG_FIELDS.join(", ")})`);
  const cfg: ConvNeXtConfig = { ...DEFAULT_CONFIG, ...partial };
  if (cfg.version === 2 && partial.layerScaleInit === undefined) cfg.layerScaleInit = null;
  const problem = configProblem(cfg);
  if (problem) throw fail(problem);
  return cfg;
}

const CONFIG_FIELDS: readonly string[] = ["dims", "depths", ...Object.keys(DEFAULT_CONFIG)];

/** The model's total downsampling: stem patch × 2 per later stage; inputs must be at least this large. */
export function totalStride(cfg: ConvNeXtConfig): number {
  return cfg.patchSize * 2 ** (cfg.dims.length - 1);
}

/** Checks a model input from any caller: a float32 (N, C, H, W) tensor whose data holds exactly its values. */
export function checkInputTensor(cfg: ConvNeXtConfig, x: HostTensor, what = "input"): void {
  if (x === null || typeof x !== "object")
    throw new Error(`${what} must be a tensor { dtype, dims, data }, got ${x === null ? "null" : typeof x}`);
  checkInputDims(cfg, x.dims, what);
  if (x.dtype !== "float32" || !(x.data instanceof Float32Array))
    throw new Error(
      `${what} must be float32 data in a Float32Array, got ${x.dtype} in ${describeData(x.data)}`,
    );
  if (x.data.length !== numel(x.dims))
    throw new Error(
      `${what} ${shapeString(x.dims)} needs ${numel(x.dims)} values, its data holds ${x.data.length}`,
    );
}

/**
 * Throws a one-line error when `dims` is not an (N ≥ 1, inChans, H, W) input of at least the total stride.
 * NOTE: onnxruntime's kernels divide by the batch size; an empty batch kills the process (SIGFPE).
 */
export function checkInputDims(cfg: ConvNeXtConfig, dims: readonly number[], what = "input"): void {
  if (!isNonNegativeIntList(dims) || dims.length !== 4 || dims[1] !== cfg.inChans)
    throw new Error(
      `${what} must be (N, ${cfg.inChans}, H, W), got ${Array.isArray(dims) ? `[${dims.slice(0, 8).join(", ")}]` : typeof dims}`,
    );
  if (dims[0] < 1) throw new Error(`${what} holds no images (N = ${dims[0]}); at least one is needed`);
  const min = totalStride(cfg);
  if (dims[2] < min || dims[3] < min)
    throw new Error(`${what} ${dims[2]}x${dims[3]} is smaller than the model's total stride ${min}`);
}
