/**
 * Sanity of an architecture, wherever it was read from (an HF config.json, the shapes of a checkpoint's
 * weights): everything the graph builder and onnxruntime will take on trust. An even or zero depthwise kernel
 * has no "same" padding and reaches onnxruntime as its internal error; a negative LayerNorm eps turns every
 * logit into NaN without an error; a depth of a billion blocks allocates until the process dies.
 */
import type { ConvNeXtConfig } from "./config.ts";
import type { Limits } from "../tensor/limits.ts";
import { LIMITS } from "../tensor/limits.ts";

type Bounds = Pick<Limits, "maxStages" | "maxDepth" | "maxWidth" | "maxKernel" | "maxClasses" | "maxParams">;

/** A value from a file, for a message: numbers and short strings as written, anything else by its type. */
export function shortValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (typeof v === "string") return v.length <= 40 ? JSON.stringify(v) : "a long string";
  return Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : typeof v;
}

/** A positive integer at most `max`, or the reason it is not. */
export function sizeProblem(what: string, v: unknown, max: number, min = 1): string | undefined {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    return `${what} is ${shortValue(v)}, expected an integer from ${min} to ${max}`;
  }
  return undefined;
}

/** A LayerNorm eps: finite and positive. */
export function epsProblem(what: string, v: unknown): string | undefined {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    return `${what} is ${shortValue(v)}, expected a finite number > 0`;
  }
  return undefined;
}

/** The first thing wrong with a config, or undefined when it is buildable. */
export function configProblem(cfg: ConvNeXtConfig, bounds: Bounds = LIMITS): string | undefined {
  if (!Array.isArray(cfg.dims) || !Array.isArray(cfg.depths))
    return "dims and depths must be lists of integers";
  if (cfg.dims.length === 0 || cfg.dims.length > bounds.maxStages) {
    return `${cfg.dims.length} stages, expected 1 to ${bounds.maxStages}`;
  }
  if (cfg.dims.length !== cfg.depths.length)
    return `dims (${cfg.dims.length} stages) and depths (${cfg.depths.length} stages) differ in length`;
  if (cfg.version !== 1 && cfg.version !== 2) return `version is ${shortValue(cfg.version)}, expected 1 or 2`;
  const problems = [
    ...cfg.dims.map((d, s) => sizeProblem(`stage ${s} width`, d, bounds.maxWidth)),
    ...cfg.depths.map((d, s) => sizeProblem(`stage ${s} depth`, d, bounds.maxDepth, 0)),
    sizeProblem("input channels", cfg.inChans, bounds.maxWidth),
    sizeProblem("patch size", cfg.patchSize, bounds.maxKernel),
    sizeProblem("classes", cfg.numClasses, bounds.maxClasses, 0),
    sizeProblem("depthwise kernel", cfg.kernelSize, bounds.maxKernel),
    epsProblem("LayerNorm eps", cfg.normEps),
    epsProblem("head LayerNorm eps", cfg.headNormEps),
  ];
  const first = problems.find((p) => p !== undefined);
  if (first) return first;
  if (cfg.kernelSize % 2 === 0)
    return `depthwise kernel ${cfg.kernelSize} is even; ConvNeXt needs an odd kernel`;
  if (typeof cfg.mlpRatio !== "number" || !(cfg.mlpRatio > 0 && cfg.mlpRatio <= 64))
    return `MLP ratio ${cfg.mlpRatio} is not in (0, 64]`;
  const params = mainParams(cfg);
  if (params > bounds.maxParams)
    return `about ${params.toExponential(2)} parameters, over the limit of ${bounds.maxParams.toExponential(2)}`;
  if (typeof cfg.convMlp !== "boolean")
    return `convMlp is ${shortValue(cfg.convMlp)}, expected true or false`;
  // > 0 as the checkpoint metadata reader wants it: a model trained with another value could not be read back.
  if (
    cfg.layerScaleInit !== null &&
    !(typeof cfg.layerScaleInit === "number" && Number.isFinite(cfg.layerScaleInit) && cfg.layerScaleInit > 0)
  )
    return `layer scale init is ${shortValue(cfg.layerScaleInit)}, expected a finite number > 0 or null`;
  if (!(typeof cfg.dropPathRate === "number" && cfg.dropPathRate >= 0 && cfg.dropPathRate < 1))
    return `drop path rate is ${shortValue(cfg.dropPathRate)}, expected a number in [0, 1)`;
  if (!(typeof cfg.headInitScale === "number" && Number.isFinite(cfg.headInitScale)))
    return `head init scale is ${shortValue(cfg.headInitScale)}, expected a finite number`;
  return undefined;
}

/** The parameters that dominate a model's size (MLPs, depthwise and patchify convs, head), counted from the config. */
function mainParams(cfg: ConvNeXtConfig): number {
  let n = cfg.inChans * cfg.patchSize ** 2 * cfg.dims[0] + cfg.numClasses * cfg.dims[cfg.dims.length - 1];
  cfg.dims.forEach((d, s) => {
    n += cfg.depths[s] * (2 * cfg.mlpRatio * d * d + cfg.kernelSize ** 2 * d);
    if (s > 0) n += 4 * cfg.dims[s - 1] * d;
  });
  return n;
}
