/**
 * What `export` writes out for a model argument: the architecture, weights, class names and preprocessing.
 * A checkpoint (alone, or named with its architecture / pretrained entry) is opened as every image command
 * opens it, so an export carries the labels and preprocessing `classify` would use; a bare architecture
 * name gets seeded random weights (seed 0), timm's default preprocessing and the label rules' names.
 */
import { existsSync } from "node:fs";
import { initParams } from "../models/init.ts";
import { modelConfig } from "../models/variants.ts";
import { loadLabels } from "../pretrained/labels-node.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { Rng } from "../train/rng.ts";
import { inputChannels, TIMM_DEFAULT_PREPROCESS } from "./image-preprocess.ts";
import { chooseLabels } from "./labels.ts";
import { openModel } from "./model-source-node.ts";
import type { ExportedModelFacts } from "./onnx-metadata.ts";

export type ExportSource = ExportedModelFacts & { weights: Map<string, HostTensor> };

export async function openExportSource(
  name: string,
  weights?: string,
  useEma = false,
): Promise<ExportSource> {
  if (existsSync(name) || weights !== undefined) {
    const source = await openModel(
      existsSync(name) ? { weights: name, useEma } : { model: name, weights, useEma },
    );
    const { config, weights: tensors } = source.model;
    return { config, weights: tensors, labels: source.labels.names, preprocess: source.preprocess };
  }
  if (useEma) throw new Error("--use-ema needs --weights (a training checkpoint)");
  const config = modelConfig(name);
  const rng = new Rng(0);
  const labels = chooseLabels({
    numClasses: config.numClasses,
    loadSet: (set) => loadLabels(set).names,
    source: name,
  });
  return {
    config,
    weights: initParams(config, () => rng.normal()),
    labels: labels.names,
    preprocess: { config: TIMM_DEFAULT_PREPROCESS, channels: inputChannels(config.inChans, name) },
  };
}
