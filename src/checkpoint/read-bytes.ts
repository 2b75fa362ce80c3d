/**
 * A checkpoint from bytes already in memory (a browser `fetch`, a file input): the same steps as
 * `loadCheckpointFile` without the file system — recognise the format from the bytes, rename to timm's keys,
 * convert to float32, read the architecture off the weights.
 */
import type { Convention, HfConfigFacts } from "./conventions.ts";
import {
  detectConvention,
  HF_DEFAULT_LAYER_NORM_EPS,
  readHfConfig,
  stateDictFromCheckpoint,
  toTimm,
} from "./conventions.ts";
import { inferConfig } from "./infer-architecture.ts";
import { applyMetadataConfig, CONFIG_METADATA_KEY } from "./metadata-config.ts";
import { isLegacyTorchSave, isZip, readPth } from "./pth.ts";
import { parseSafetensors } from "./safetensors.ts";
import { checkPlainEma, isTrainCheckpoint, trainCheckpointWeights } from "./train-layout.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import {
  describeData,
  type Float32Tensor,
  type HostTensor,
  numel,
  toFloat32,
} from "../tensor/host-tensor.ts";
import { formatBytes, LIMITS } from "../tensor/limits.ts";

export interface CheckpointBytesOptions {
  /** Name used in error messages. */
  source?: string;
  /** Load the EMA weights of a training checkpoint. */
  useEma?: boolean;
  /** Parsed HF config.json, for HF checkpoints (head LN eps and class names). */
  hfConfig?: unknown;
  /** Where that config came from, for error messages. */
  hfConfigSource?: string;
}

export interface CheckpointFromBytes {
  tensors: Map<string, Float32Tensor>;
  convention: Convention;
  config: ConvNeXtConfig;
  /** safetensors `__metadata__` ({} for .pth). */
  metadata: Record<string, string>;
  /** HF id2label, when an HF config was given. */
  labels?: string[];
  /** The file is a training checkpoint of `convnext train` (parameters, EMA, optimizer state). */
  trainCheckpoint: boolean;
}

export function readCheckpointBytes(
  bytes: Uint8Array,
  opts: CheckpointBytesOptions = {},
): CheckpointFromBytes {
  const source = opts.source ?? "checkpoint";
  if (!(bytes instanceof Uint8Array))
    throw new Error(`${source}: checkpoint bytes must be a Uint8Array, got ${describeData(bytes)}`);
  try {
    return readChecked(bytes, opts, source);
  } catch (e) {
    throw namingSource(e, source, opts.hfConfigSource);
  }
}

/**
 * Every failure as one line naming the file: the readers' own errors already do; an engine error a bound did not
 * foresee (a RangeError from an allocation, a stack overflow) is given the file's name instead of escaping bare.
 */
function namingSource(e: unknown, source: string, configSource?: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  const line = message.split("\n")[0];
  const named = message.includes(source) || (configSource !== undefined && message.includes(configSource));
  if (e instanceof Error && !(e instanceof RangeError) && line === message && named) return e;
  return new Error(`${source}: cannot read the checkpoint (${line})`);
}

function readChecked(bytes: Uint8Array, opts: CheckpointBytesOptions, source: string): CheckpointFromBytes {
  let tree: unknown;
  let metadata: Record<string, string> = {};
  let useEma = opts.useEma;
  if (isZip(bytes) || isLegacyTorchSave(bytes)) tree = readPth(bytes, source);
  else {
    const parsed = parseSafetensors(bytes, source);
    tree = parsed.tensors;
    metadata = parsed.metadata;
    const trainCheckpoint = isTrainCheckpoint(metadata);
    if (trainCheckpoint) {
      tree = trainCheckpointWeights(parsed.tensors, metadata, { useEma, source });
      useEma = false;
    } else if (useEma && checkPlainEma(metadata, source)) useEma = false;
  }
  const stateDict = stateDictFromCheckpoint(tree, { useEma, source });
  let convention: Convention;
  try {
    convention = detectConvention(stateDict.keys());
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  const renamed = toTimm(stateDict, { convention, source });
  checkTensorBytes(renamed, bytes.length, source);
  const tensors = new Map<string, Float32Tensor>();
  for (const [key, t] of renamed) {
    try {
      tensors.set(key, toFloat32(t));
    } catch (e) {
      throw new Error(`${source}: ${key}: ${(e as Error).message}`);
    }
  }
  const config = applyMetadataConfig(inferConfig(tensors, source), metadata, source);
  let labels: string[] | undefined;
  if (convention === "hf") {
    // NOTE: HF's default layer_norm_eps (1e-12) applies when no config says otherwise; it is the head LN's only.
    const configSource = opts.hfConfigSource ?? `${source} config`;
    const facts = opts.hfConfig === undefined ? undefined : readHfConfig(opts.hfConfig, configSource);
    if (facts) checkAgainstHfConfig(config, facts, configSource, source);
    // A config.json says it; else our own metadata, when it states the architecture; else HF's default.
    const stated = metadata[CONFIG_METADATA_KEY] !== undefined;
    config.headNormEps = facts?.headNormEps ?? (stated ? config.headNormEps : HF_DEFAULT_LAYER_NORM_EPS);
    labels = facts?.labels;
  }
  return { tensors, convention, config, metadata, labels, trainCheckpoint: isTrainCheckpoint(metadata) };
}

/**
 * Views let a small file describe many large tensors over one storage; everything after this point (float32
 * conversion, the ONNX initializers) copies each tensor, so their float32 size is held to what a real checkpoint
 * of this file's size can hold: twice the file (float16 weights double), plus the same slack as view copies.
 */
function checkTensorBytes(tensors: Map<string, HostTensor>, fileBytes: number, source: string): void {
  let total = 0;
  for (const t of tensors.values()) total += numel(t.dims) * 4;
  const limit = 2 * fileBytes + LIMITS.maxViewCopyBytesOverFile;
  if (total > limit) {
    throw new Error(
      `${source}: the checkpoint's tensors come to ${formatBytes(total)} as float32, more than a ${formatBytes(fileBytes)} file can hold (views sharing storage?)`,
    );
  }
}

function checkAgainstHfConfig(
  config: ConvNeXtConfig,
  facts: HfConfigFacts,
  configPath: string,
  source: string,
): void {
  const disagree = (what: string, said: unknown, found: unknown) =>
    new Error(
      `${configPath}: ${what} ${JSON.stringify(said)} disagrees with the weights in ${source} (${JSON.stringify(found)})`,
    );
  if (facts.dims && facts.dims.join() !== config.dims.join())
    throw disagree("hidden_sizes", facts.dims, config.dims);
  if (facts.depths && facts.depths.join() !== config.depths.join())
    throw disagree("depths", facts.depths, config.depths);
  if (facts.version !== config.version)
    throw disagree("model_type", facts.modelType, `ConvNeXt V${config.version}`);
  if (facts.numClasses !== undefined && config.numClasses !== 0 && facts.numClasses !== config.numClasses) {
    throw disagree("number of labels", facts.numClasses, config.numClasses);
  }
}
