/**
 * The architecture a safetensors file states in its `__metadata__` under `config`: a JSON ConvNeXtConfig, as
 * the bundled model, `convnext train` and `convnext convert` write it. The weights decide the structure (widths,
 * depths, kernels, V1/V2, classes); the metadata adds what weights cannot show — the LayerNorm eps of the body and
 * of the head, and the training-time settings (layer scale init, drop path, head init scale). A metadata
 * structure that disagrees with the weights is an error rather than a silent choice between them.
 */
import type { ConvNeXtConfig } from "../models/config.ts";

/** The metadata key holding the architecture. */
export const CONFIG_METADATA_KEY = "config";

/** Fields that the weights already determine: the metadata must agree with them. */
const STRUCTURE = [
  "version",
  "dims",
  "depths",
  "numClasses",
  "inChans",
  "kernelSize",
  "patchSize",
  "convMlp",
  "mlpRatio",
] as const;

/** A metadata value against the weights' one: scalars, or flat lists of them (nothing nested is walked). */
function same(given: unknown, actual: number | boolean | number[]): boolean {
  if (!Array.isArray(actual)) return given === actual;
  return Array.isArray(given) && given.length === actual.length && actual.every((v, i) => given[i] === v);
}

/** A value for a message: short, and never walked deeply. */
function shown(v: unknown): string {
  if (Array.isArray(v)) return v.length <= 8 && v.every((x) => typeof x === "number") ? `[${v}]` : "a list";
  return typeof v === "object" && v !== null ? "an object" : JSON.stringify(v).slice(0, 40);
}

function positiveNumber(v: unknown, key: string, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new Error(`${where}: '${key}' must be a number > 0, got ${JSON.stringify(v)}`);
  return v;
}

function nonNegativeNumber(v: unknown, key: string, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new Error(`${where}: '${key}' must be a number ≥ 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * `inferred` (read off the weights) completed by the metadata's `config`, when there is one. Throws one line
 * naming `source` when the entry is not JSON, holds an unusable value, or disagrees with the weights.
 */
export function applyMetadataConfig(
  inferred: ConvNeXtConfig,
  metadata: Record<string, string>,
  source: string,
): ConvNeXtConfig {
  const text = metadata[CONFIG_METADATA_KEY];
  if (text === undefined) return inferred;
  const where = `${source}: metadata '${CONFIG_METADATA_KEY}'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error(`${where} is not a JSON object`);
  const c = parsed as Record<string, unknown>;
  for (const key of STRUCTURE) {
    if (c[key] !== undefined && !same(c[key], inferred[key]))
      throw new Error(
        `${where}: ${key} ${shown(c[key])} disagrees with the weights (${shown(inferred[key])})`,
      );
  }
  const out: ConvNeXtConfig = { ...inferred };
  if (c.normEps !== undefined) out.normEps = positiveNumber(c.normEps, "normEps", where);
  if (c.headNormEps !== undefined) out.headNormEps = positiveNumber(c.headNormEps, "headNormEps", where);
  if (c.dropPathRate !== undefined)
    out.dropPathRate = nonNegativeNumber(c.dropPathRate, "dropPathRate", where);
  if (c.headInitScale !== undefined)
    out.headInitScale = nonNegativeNumber(c.headInitScale, "headInitScale", where);
  // Layer scale is present or not by the weights; only its init value comes from the metadata.
  if (inferred.layerScaleInit !== null && c.layerScaleInit !== undefined && c.layerScaleInit !== null)
    out.layerScaleInit = positiveNumber(c.layerScaleInit, "layerScaleInit", where);
  return out;
}
