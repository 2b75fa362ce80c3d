/**
 * What a converted file carries besides its tensors, so it answers exactly as its source (README, "convert"):
 * safetensors `__metadata__` (string values)
 *   `format`     "pt" (timm and safetensors' torch loader expect it)
 *   `config`     the architecture as JSON ConvNeXtConfig, incl. the body and head LayerNorm eps
 *   `labels`     JSON list of class names, when the source names its classes (metadata, or HF id2label)
 *   `preprocess` JSON preprocessing, when the source states it
 *   `weights`    "model" or "ema <decay>", which weights of a training run these are
 * plus any other entry of the source's metadata, except a training checkpoint's own state (step, optimizer, …).
 * timm reads only the tensors: settings it cannot take from them are listed in one warning.
 */
import { parsePreprocessJson } from "../api/image-preprocess.ts";
import { chooseLabels } from "../api/labels.ts";
import type { LoadedCheckpoint } from "../checkpoint/load-node.ts";
import { CONFIG_METADATA_KEY } from "../checkpoint/metadata-config.ts";
import { TRAIN_STATE_METADATA, weightsKind } from "../checkpoint/train-layout.ts";
import { DEFAULT_CONFIG } from "../models/config.ts";

export interface ConvertedMetadata {
  metadata: Record<string, string>;
  /** Settings a timm user of the file would lose, for the warning (empty when none). */
  notInTimm: string[];
}

export function convertedMetadata(ckpt: LoadedCheckpoint, useEma: boolean): ConvertedMetadata {
  const { config, source } = ckpt;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(ckpt.metadata))
    if (!ckpt.trainCheckpoint || !TRAIN_STATE_METADATA.includes(k)) metadata[k] = v;
  metadata.format = "pt";
  metadata[CONFIG_METADATA_KEY] = JSON.stringify(config);
  const labels = chooseLabels({
    numClasses: config.numClasses,
    metadata: ckpt.metadata,
    hfLabels: ckpt.labels,
    source,
  });
  if (labels.source === "metadata" || labels.source === "hf-config")
    metadata.labels = JSON.stringify(labels.names);
  // Checked now, so a broken entry fails the conversion instead of the converted file's first use.
  if (ckpt.metadata.preprocess !== undefined)
    parsePreprocessJson(ckpt.metadata.preprocess, config.inChans, source);
  const kind = weightsKind(ckpt.metadata, { useEma, source });
  if (kind !== undefined) metadata.weights = kind;

  const notInTimm: string[] = [];
  if (config.normEps !== DEFAULT_CONFIG.normEps) notInTimm.push(`LayerNorm eps ${config.normEps}`);
  if (config.headNormEps !== DEFAULT_CONFIG.headNormEps)
    notInTimm.push(`head LayerNorm eps ${config.headNormEps}`);
  if (metadata.preprocess !== undefined) notInTimm.push("preprocessing");
  if (metadata.labels !== undefined) notInTimm.push("class names");
  return { metadata, notInTimm };
}
