/**
 * Which weights, architecture, preprocessing and class names a `{ model, weights }` choice means (Node):
 * - `model` alone: pretrained weights by name (`arch.tag`, plain `arch` = timm's default tag, or
 *   `timm/arch.tag`), fetched into the cache on first use;
 * - `weights` (a checkpoint file or HF folder), optionally with `model` naming its architecture and, when the
 *   name is a pretrained entry, its preprocessing and label set;
 * - neither: the Fashion-MNIST model shipped in assets/models/.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type LoadedCheckpoint, loadCheckpointFile } from "../checkpoint/load-node.ts";
import { checkParams } from "../checkpoint/validate.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import { paramShapes } from "../models/convnext.ts";
import { modelConfig } from "../models/variants.ts";
import { ConvNeXtModel } from "../node/model.ts";
import type { PreprocessConfig } from "../preprocess/transform.ts";
import { fetchPretrainedFile, type ProgressCallback } from "../pretrained/download-node.ts";
import { loadLabels } from "../pretrained/labels-node.ts";
import type { Precision } from "../graph/precision.ts";
import { type PretrainedEntry, resolvePretrained, type WeightsLicense } from "../pretrained/registry.ts";
import {
  type ImagePreprocess,
  inputChannels,
  parsePreprocessJson,
  TIMM_DEFAULT_PREPROCESS,
} from "./image-preprocess.ts";
import { type ChosenLabels, chooseLabels } from "./labels.ts";

/** The small Fashion-MNIST model shipped with the package, used when no model is chosen. */
export const BUNDLED_MODEL_PATH = fileURLToPath(
  new URL("../../assets/models/fashion-mnist/model.safetensors", import.meta.url),
);

export interface ModelChoice {
  /** Pretrained weights by name; with `weights`, the architecture (and preprocessing/labels) of that file. */
  model?: string;
  /** A checkpoint: .safetensors, .pth/.pt/.bin, or an HF folder, in any supported naming convention. */
  weights?: string;
}

export interface ModelSourceOptions extends ModelChoice {
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /** Weight precision of the linear layers (default fp32). */
  precision?: Precision;
  /** Never touch the network (default: CONVNEXT_OFFLINE / HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Load the EMA weights of a training checkpoint. */
  useEma?: boolean;
  /** Class names to use instead of the ones the rules pick (see labels.ts). */
  labels?: readonly string[];
  /** Preprocessing to use instead of the checkpoint's / pretrained entry's / timm's default. */
  preprocess?: PreprocessConfig;
  /** Download progress of pretrained weights (bytes so far, total when known). */
  onDownloadProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface ModelSource {
  model: ConvNeXtModel;
  preprocess: ImagePreprocess;
  labels: ChosenLabels;
  /** The pretrained entry the choice named, if any. */
  entry?: PretrainedEntry;
  /** File the weights were read from. */
  weightsPath: string;
  /** How to refer to the model: the pretrained name or the weights path. */
  name: string;
  /** Licence of pretrained weights fetched by name (not claimed for a user's own file). */
  license?: WeightsLicense;
  /** safetensors metadata of the checkpoint. */
  metadata: Record<string, string>;
}

interface Located {
  entry?: PretrainedEntry;
  /** Architecture named by `model` when it is not a pretrained entry (only allowed with weights). */
  arch?: string;
  path?: string;
}

function tryResolve(name: string): PretrainedEntry | undefined {
  try {
    return resolvePretrained(name);
  } catch {
    return undefined;
  }
}

/** Finds the weights file of a choice; downloads pretrained weights only when `fetch` is set. */
async function locate(opts: ModelSourceOptions, fetch: boolean): Promise<Located> {
  if (opts.weights !== undefined) {
    if (opts.model === undefined) return { path: opts.weights };
    const entry = tryResolve(opts.model);
    if (entry) return { entry, path: opts.weights };
    modelConfig(opts.model); // throws "unknown model" with the known names
    return { arch: opts.model, path: opts.weights };
  }
  if (opts.model !== undefined) {
    const entry = resolvePretrained(opts.model);
    if (!fetch) return { entry };
    const fetched = await fetchPretrainedFile(entry, {
      onProgress: opts.onDownloadProgress,
      offline: opts.offline,
      signal: opts.signal,
    });
    return { entry, path: fetched.path };
  }
  if (!existsSync(BUNDLED_MODEL_PATH)) {
    throw new Error(
      `no model chosen (--model / --weights; in the API { model } / { weights }) and the bundled Fashion-MNIST model is missing at ${BUNDLED_MODEL_PATH}`,
    );
  }
  return { path: BUNDLED_MODEL_PATH };
}

function choosePreprocess(
  opts: ModelSourceOptions,
  entry: PretrainedEntry | undefined,
  metadata: Record<string, string>,
  inChans: number,
  source: string,
): ImagePreprocess {
  const channels = inputChannels(inChans, source);
  if (opts.preprocess) return { config: opts.preprocess, channels };
  if (metadata.preprocess !== undefined) return parsePreprocessJson(metadata.preprocess, inChans, source);
  return { config: entry?.preprocess ?? TIMM_DEFAULT_PREPROCESS, channels };
}

/** The architecture: as named (checked against the weights), else as read off the weights. */
function architecture(located: Located, ckpt: LoadedCheckpoint): ConvNeXtConfig {
  const name = located.entry?.arch ?? located.arch;
  if (!name) return ckpt.config;
  const named = modelConfig(name, {
    numClasses: ckpt.config.numClasses,
    normEps: ckpt.config.normEps,
    headNormEps: ckpt.config.headNormEps,
    inChans: ckpt.config.inChans,
  });
  checkParams(paramShapes(named), ckpt.tensors, ckpt.source);
  return named;
}

/** Loads the chosen model (downloading pretrained weights when needed) with its preprocessing and labels. */
export async function openModel(opts: ModelSourceOptions = {}): Promise<ModelSource> {
  const located = await locate(opts, true);
  const path = located.path as string;
  const ckpt = await loadCheckpointFile(path, { useEma: opts.useEma });
  const config = architecture(located, ckpt);
  const { entry } = located;
  const labels = chooseLabels({
    numClasses: config.numClasses,
    given: opts.labels,
    metadata: ckpt.metadata,
    hfLabels: ckpt.labels,
    pretrained: entry,
    loadSet: (set) => loadLabels(set).names,
    source: ckpt.source,
  });
  return {
    model: new ConvNeXtModel(config, ckpt.tensors, opts.threads, ckpt.source, opts.precision),
    preprocess: choosePreprocess(opts, entry, ckpt.metadata, config.inChans, ckpt.source),
    labels,
    entry,
    weightsPath: ckpt.source,
    name: opts.weights === undefined && entry ? entry.name : ckpt.source,
    license: opts.weights === undefined ? entry?.license : undefined,
    metadata: ckpt.metadata,
  };
}

/**
 * The preprocessing of a choice without loading a model: a pretrained name needs no download; a checkpoint is
 * read for its metadata and input channels.
 */
export async function modelPreprocess(opts: ModelSourceOptions = {}): Promise<ImagePreprocess> {
  const located = await locate(opts, false);
  if (located.path === undefined) {
    return choosePreprocess(opts, located.entry, {}, 3, located.entry?.name ?? "model");
  }
  const ckpt = await loadCheckpointFile(located.path, { useEma: opts.useEma });
  return choosePreprocess(opts, located.entry, ckpt.metadata, ckpt.config.inChans, ckpt.source);
}

/** A one-line notice for weights whose licence restricts use (ConvNeXt V2: CC-BY-NC 4.0), else undefined. */
export function licenseNotice(name: string, license: WeightsLicense | undefined): string | undefined {
  if (license !== "CC-BY-NC-4.0") return undefined;
  return `${name}: weights licensed CC-BY-NC-4.0 (non-commercial use only; https://creativecommons.org/licenses/by-nc/4.0/)`;
}
