/**
 * A checkpoint given as bytes, with what running it needs beside its weights: the preprocessing (given, else the
 * checkpoint's metadata, else its pretrained entry's, else timm's default) and the class names. Shared by the
 * browser classifier and fine-tuner.
 */
import { readCheckpointBytes, type CheckpointFromBytes } from "../checkpoint/read-bytes.ts";
import type { PreprocessConfig } from "../preprocess/transform.ts";
import { type PretrainedEntry, resolvePretrained } from "../pretrained/registry.ts";
import {
  type ImagePreprocess,
  inputChannels,
  parsePreprocessJson,
  TIMM_DEFAULT_PREPROCESS,
} from "./image-preprocess.ts";
import { chooseLabels } from "./labels.ts";

export interface CheckpointBytesChoice {
  /** Checkpoint bytes: safetensors or a torch.save zip, any supported naming convention. */
  weights: Uint8Array;
  /** Name of the weights in messages. */
  source?: string;
  /** Pretrained entry the weights are (its preprocessing is used unless the checkpoint carries its own). */
  pretrained?: string;
  /** Parsed HF config.json for HF checkpoints. */
  hfConfig?: unknown;
  /** Class names (else: checkpoint metadata, HF id2label, or `class <i>`). */
  labels?: readonly string[];
  preprocess?: PreprocessConfig;
  useEma?: boolean;
}

export interface ReadCheckpoint {
  checkpoint: CheckpointFromBytes;
  entry?: PretrainedEntry;
  preprocess: ImagePreprocess;
  labels: readonly string[];
  source: string;
}

export function readCheckpointChoice(opts: CheckpointBytesChoice): ReadCheckpoint {
  const source = opts.source ?? "weights";
  const checkpoint = readCheckpointBytes(opts.weights, {
    source,
    useEma: opts.useEma,
    hfConfig: opts.hfConfig,
  });
  const entry = opts.pretrained === undefined ? undefined : resolvePretrained(opts.pretrained);
  const { config, metadata } = checkpoint;
  const channels = inputChannels(config.inChans, source);
  const preprocess = opts.preprocess
    ? { config: opts.preprocess, channels }
    : metadata.preprocess !== undefined
      ? parsePreprocessJson(metadata.preprocess, config.inChans, source)
      : { config: entry?.preprocess ?? TIMM_DEFAULT_PREPROCESS, channels };
  const labels = chooseLabels({
    numClasses: config.numClasses,
    given: opts.labels,
    metadata,
    hfLabels: checkpoint.labels,
    source,
  }).names;
  return { checkpoint, entry, preprocess, labels, source };
}
