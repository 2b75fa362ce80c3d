/**
 * What an exported .onnx says about itself in ModelProto.metadata_props, enough to rebuild the classifier from
 * the file alone. The keys and JSON are the ones our checkpoints carry in their safetensors metadata, so one set
 * of readers serves both:
 * - `config`: the architecture (ConvNeXtConfig as JSON);
 * - `labels`: the class names, a JSON list (one per logit);
 * - `preprocess`: the evaluation transform (preprocessToJson);
 * - `precision`: how the weights are stored (fp32, fp16, ...).
 */
import { type ConvNeXtConfig, makeConfig } from "../models/config.ts";
import { type ImagePreprocess, parsePreprocessJson, preprocessToJson } from "./image-preprocess.ts";
import { metadataLabels } from "./labels.ts";
import { metadataObject } from "./metadata-json.ts";

export interface ExportedModelFacts {
  config: ConvNeXtConfig;
  labels: readonly string[];
  preprocess: ImagePreprocess;
}

export function exportMetadata(facts: ExportedModelFacts, precision: string): Record<string, string> {
  return {
    config: JSON.stringify(facts.config),
    labels: JSON.stringify(facts.labels),
    preprocess: preprocessToJson(facts.preprocess),
    precision,
  };
}

const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;
const isCountList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => isCount(x, 1));

/** The `config` entry: the architecture fields ConvNeXtConfig needs, checked, defaults for the rest. */
export function parseConfigJson(text: string, source: string): ConvNeXtConfig {
  const bad = (why: string) => new Error(`${source}: metadata 'config' ${why}`);
  const o = metadataObject(text, "config", source) as Partial<Record<keyof ConvNeXtConfig, unknown>>;
  if (!isCountList(o.dims) || !isCountList(o.depths))
    throw bad("needs 'dims' and 'depths', lists of positive integers");
  if (o.version !== undefined && o.version !== 1 && o.version !== 2)
    throw bad(`'version' must be 1 or 2, got ${JSON.stringify(o.version)}`);
  for (const k of ["numClasses", "inChans", "kernelSize", "patchSize", "mlpRatio"] as const) {
    if (o[k] !== undefined && !isCount(o[k], k === "numClasses" ? 0 : 1))
      throw bad(`'${k}' must be a ${k === "numClasses" ? "non-negative" : "positive"} integer`);
  }
  return makeConfig(o as Partial<ConvNeXtConfig> & Pick<ConvNeXtConfig, "dims" | "depths">, bad);
}

/** Rebuilds config, labels and preprocessing from an exported model's metadata_props. */
export function readExportMetadata(metadata: Record<string, string>, source: string): ExportedModelFacts {
  for (const key of ["config", "labels", "preprocess"]) {
    if (metadata[key] === undefined)
      throw new Error(`${source}: no '${key}' in metadata_props (not written by convnext export)`);
  }
  const config = parseConfigJson(metadata.config, source);
  const labels = metadataLabels(metadata, source) ?? [];
  if (config.numClasses > 0 && labels.length !== config.numClasses)
    throw new Error(`${source}: metadata has ${labels.length} labels for ${config.numClasses} classes`);
  return { config, labels, preprocess: parsePreprocessJson(metadata.preprocess, config.inChans, source) };
}
