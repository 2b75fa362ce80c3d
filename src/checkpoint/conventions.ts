/**
 * Key remapping at the boundary: every ConvNeXt checkpoint convention (facebookresearch official, torchvision,
 * Hugging Face transformers) is renamed to timm's names, which the rest of the project uses (docs/reference.md §6).
 * Pure functions over name -> tensor maps; the file readers know nothing about ConvNeXt.
 * Renaming never copies data; the only shape changes are reshapes of the same values (GRN [1,1,1,4C] -> [4C],
 * torchvision layer scale [C,1,1] -> [C]), exactly what timm's `checkpoint_filter_fn` does.
 */
import type { HostTensor } from "../tensor/host-tensor.ts";
import { numel } from "../tensor/host-tensor.ts";
import { jsonDepth, LIMITS } from "../tensor/limits.ts";
import { epsProblem, shortValue, sizeProblem } from "../models/config-sanity.ts";
import { printable } from "./printable.ts";

export type Convention = "timm" | "official" | "torchvision" | "hf";

function isTensor(v: unknown): v is HostTensor {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as HostTensor).dtype === "string" &&
    Array.isArray((v as HostTensor).dims) &&
    ArrayBuffer.isView((v as HostTensor).data)
  );
}

function listKeys(keys: readonly string[], max = 5): string {
  const shown = keys
    .slice(0, max)
    .map((k) => printable(k))
    .join(", ");
  return keys.length > max ? `${shown} (and ${keys.length - max} more)` : shown;
}

/** Which convention a state dict's keys follow. */
export function detectConvention(keys: Iterable<string>): Convention {
  const list = [...keys];
  const any = (test: (k: string) => boolean) => list.some(test);
  if (any((k) => /^(convnext|convnextv2)\./.test(k) || k.startsWith("embeddings.patch_embeddings.")))
    return "hf";
  if (any((k) => k.startsWith("features."))) return "torchvision";
  if (any((k) => k.startsWith("downsample_layers."))) return "official";
  if (any((k) => k.startsWith("stem.") || /^stages\.\d+\.blocks\./.test(k))) return "timm";
  throw new Error(`cannot tell which ConvNeXt checkpoint convention these keys follow: ${listKeys(list)}`);
}

/**
 * Picks the state dict out of a loaded checkpoint: `{'model': ...}` (official), `{'state_dict': ...}` (timm
 * training checkpoints) or the dict itself; the EMA copy (`model_ema` / `state_dict_ema`) only when asked.
 * Optimizer state, epoch, args and other non-tensor entries are ignored; a DDP `module.` prefix is dropped.
 */
export function stateDictFromCheckpoint(
  tree: unknown,
  opts: { useEma?: boolean; source?: string } = {},
): Map<string, HostTensor> {
  const source = opts.source ?? "checkpoint";
  if (!(tree instanceof Map)) throw new Error(`${source}: checkpoint is not a dict of tensors`);
  let dict: Map<unknown, unknown> = tree;
  const pick = (names: string[]) => names.map((n) => tree.get(n)).find((v) => v instanceof Map);
  if (opts.useEma) {
    const ema = pick(["model_ema", "state_dict_ema"]);
    if (!ema) throw new Error(`${source}: no EMA weights (model_ema or state_dict_ema) in the checkpoint`);
    dict = ema as Map<unknown, unknown>;
  } else {
    dict = (pick(["model", "state_dict"]) as Map<unknown, unknown> | undefined) ?? tree;
  }
  const out = new Map<string, HostTensor>();
  for (const [k, v] of dict) if (typeof k === "string" && isTensor(v)) out.set(k, v);
  if (out.size === 0) {
    const top = [...tree.keys()].map(String);
    throw new Error(`${source}: no tensors found in the checkpoint (top-level keys: ${listKeys(top)})`);
  }
  const keys = [...out.keys()];
  if (keys.every((k) => k.startsWith("module."))) {
    return new Map([...out].map(([k, v]) => [k.slice("module.".length), v]));
  }
  return out;
}

/** Block-internal names (the part after the block index) -> timm's, per convention. */
const BLOCK_PARTS: Record<Exclude<Convention, "timm">, Record<string, string>> = {
  official: {
    dwconv: "conv_dw",
    norm: "norm",
    pwconv1: "mlp.fc1",
    pwconv2: "mlp.fc2",
    gamma: "gamma",
    "grn.gamma": "mlp.grn.weight",
    "grn.beta": "mlp.grn.bias",
  },
  torchvision: {
    "block.0": "conv_dw",
    "block.2": "norm",
    "block.3": "mlp.fc1",
    "block.5": "mlp.fc2",
    layer_scale: "gamma",
  },
  hf: {
    dwconv: "conv_dw",
    layernorm: "norm",
    pwconv1: "mlp.fc1",
    pwconv2: "mlp.fc2",
    layer_scale_parameter: "gamma",
    "grn.weight": "mlp.grn.weight",
    "grn.bias": "mlp.grn.bias",
  },
};

/** Parameters stored with extra unit dims (GRN [1,1,1,4C], torchvision layer scale [C,1,1]); timm keeps them 1-D. */
const FLATTENED = new Set(["gamma", "mlp.grn.weight", "mlp.grn.bias"]);

function blockPart(convention: Exclude<Convention, "timm">, rest: string): string | undefined {
  const table = BLOCK_PARTS[convention];
  const lookup = (name: string) => (Object.hasOwn(table, name) ? table[name] : undefined);
  const whole = lookup(rest);
  if (whole !== undefined) return whole;
  const dot = rest.lastIndexOf(".");
  const module = dot > 0 ? lookup(rest.slice(0, dot)) : undefined;
  return module !== undefined ? `${module}${rest.slice(dot)}` : undefined;
}

function officialName(k: string): string | undefined {
  let m = /^downsample_layers\.0\.([01]\..+)$/.exec(k);
  if (m) return `stem.${m[1]}`;
  m = /^downsample_layers\.(\d+)\.([01]\..+)$/.exec(k);
  if (m) return `stages.${m[1]}.downsample.${m[2]}`;
  m = /^stages\.(\d+)\.(\d+)\.(.+)$/.exec(k);
  if (m) {
    const part = blockPart("official", m[3]);
    return part && `stages.${m[1]}.blocks.${m[2]}.${part}`;
  }
  m = /^norm\.(weight|bias)$/.exec(k);
  if (m) return `head.norm.${m[1]}`;
  m = /^head\.(weight|bias)$/.exec(k);
  if (m) return `head.fc.${m[1]}`;
  return undefined;
}

function torchvisionName(k: string): string | undefined {
  let m = /^features\.0\.([01]\..+)$/.exec(k);
  if (m) return `stem.${m[1]}`;
  m = /^features\.(\d+)\.(\d+)\.(.+)$/.exec(k);
  if (m) {
    // features = [stem, stage 0, downsample 1, stage 1, downsample 2, stage 2, downsample 3, stage 3]
    const f = Number(m[1]);
    if (f % 2 === 0) return /^[01]$/.test(m[2]) ? `stages.${f / 2}.downsample.${m[2]}.${m[3]}` : undefined;
    const part = blockPart("torchvision", m[3]);
    return part && `stages.${(f - 1) / 2}.blocks.${m[2]}.${part}`;
  }
  m = /^classifier\.0\.(weight|bias)$/.exec(k);
  if (m) return `head.norm.${m[1]}`;
  m = /^classifier\.2\.(weight|bias)$/.exec(k);
  if (m) return `head.fc.${m[1]}`;
  return undefined;
}

function hfName(k: string): string | undefined {
  let m = /^classifier\.(weight|bias)$/.exec(k);
  if (m) return `head.fc.${m[1]}`;
  const inner = k.replace(/^convnext(v2)?\./, "");
  m = /^embeddings\.patch_embeddings\.(weight|bias)$/.exec(inner);
  if (m) return `stem.0.${m[1]}`;
  m = /^embeddings\.layernorm\.(weight|bias)$/.exec(inner);
  if (m) return `stem.1.${m[1]}`;
  m = /^encoder\.stages\.(\d+)\.downsampling_layer\.([01]\.(weight|bias))$/.exec(inner);
  if (m) return `stages.${m[1]}.downsample.${m[2]}`;
  m = /^encoder\.stages\.(\d+)\.layers\.(\d+)\.(.+)$/.exec(inner);
  if (m) {
    const part = blockPart("hf", m[3]);
    return part && `stages.${m[1]}.blocks.${m[2]}.${part}`;
  }
  m = /^layernorm\.(weight|bias)$/.exec(inner);
  if (m) return `head.norm.${m[1]}`;
  return undefined;
}

const RENAMERS: Record<Convention, (k: string) => string | undefined> = {
  timm: (k) => k,
  official: officialName,
  torchvision: torchvisionName,
  hf: hfName,
};

/**
 * Renames a state dict to timm's names. Throws one error listing every key the convention does not know.
 * `convention` defaults to `detectConvention(keys)`.
 */
export function toTimm(
  tensors: Map<string, HostTensor>,
  opts: { convention?: Convention; source?: string } = {},
): Map<string, HostTensor> {
  const source = opts.source ?? "checkpoint";
  const convention = opts.convention ?? detectConvention(tensors.keys());
  const rename = RENAMERS[convention];
  const out = new Map<string, HostTensor>();
  const unknown: string[] = [];
  for (const [k, t] of tensors) {
    const name = rename(k);
    if (name === undefined) {
      unknown.push(k);
      continue;
    }
    if (out.has(name)) throw new Error(`${source}: two keys map to the timm name ${name}`);
    const leaf = name.replace(/^stages\.\d+\.blocks\.\d+\./, "");
    const flatten = convention !== "timm" && FLATTENED.has(leaf) && t.dims.length > 1;
    out.set(name, flatten ? { ...t, dims: [numel(t.dims)] } : t);
  }
  if (unknown.length > 0) {
    throw new Error(
      `${source}: ${unknown.length} keys are not ${convention} ConvNeXt keys: ${listKeys(unknown)}`,
    );
  }
  return out;
}

/** What a Hugging Face `config.json` says about the model (ConvNextConfig / ConvNextV2Config). */
export interface HfConfigFacts {
  modelType: "convnext" | "convnextv2";
  version: 1 | 2;
  dims?: number[];
  depths?: number[];
  numClasses?: number;
  /** Class names from `id2label`, in class order. */
  labels?: string[];
  /**
   * NOTE: HF applies `layer_norm_eps` ONLY to the final LayerNorm before the classifier (all other LNs are
   * hard-coded 1e-6), and its default when the key is missing is 1e-12, not 1e-6.
   */
  headNormEps: number;
  inChans?: number;
  patchSize?: number;
  dropPathRate?: number;
}

/** transformers' ConvNextConfig / ConvNextV2Config default for `layer_norm_eps`. */
export const HF_DEFAULT_LAYER_NORM_EPS = 1e-12;

/** A list of sizes from the config, or undefined when absent; anything else is refused. */
function sizeList(c: Record<string, unknown>, key: string, max: number, min: number, source: string) {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > LIMITS.maxStages) {
    throw new Error(`${source}: HF config ${key} must be a list of 1 to ${LIMITS.maxStages} integers`);
  }
  for (const [i, x] of v.entries()) {
    const problem = sizeProblem(`${key}[${i}]`, x, max, min);
    if (problem) throw new Error(`${source}: HF config ${problem}`);
  }
  return v as number[];
}

/** An optional integer field of the config, within bounds. */
function sizeField(c: Record<string, unknown>, key: string, max: number, min: number, source: string) {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  const problem = sizeProblem(key, v, max, min);
  if (problem) throw new Error(`${source}: HF config ${problem}`);
  return v as number;
}

/** Reads the facts we need from a parsed HF `config.json`. */
export function readHfConfig(json: unknown, source = "config.json"): HfConfigFacts {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${source}: HF config is not a JSON object`);
  }
  // Nothing below recurses, but a label turned into a string would; a real config nests three levels.
  if (jsonDepth(json) > LIMITS.maxNestingDepth) {
    throw new Error(`${source}: HF config nests deeper than ${LIMITS.maxNestingDepth} levels`);
  }
  const c = json as Record<string, unknown>;
  const modelType = c.model_type;
  if (modelType !== "convnext" && modelType !== "convnextv2") {
    throw new Error(
      `${source}: HF config model_type is ${shortValue(modelType)}, expected "convnext" or "convnextv2"`,
    );
  }
  const eps = c.layer_norm_eps ?? HF_DEFAULT_LAYER_NORM_EPS;
  const badEps = epsProblem("layer_norm_eps", eps);
  if (badEps) throw new Error(`${source}: HF config ${badEps}`);
  const facts: HfConfigFacts = {
    modelType,
    version: modelType === "convnextv2" ? 2 : 1,
    headNormEps: eps as number,
    dims: sizeList(c, "hidden_sizes", LIMITS.maxWidth, 1, source),
    depths: sizeList(c, "depths", LIMITS.maxDepth, 0, source),
  };
  const inChans = sizeField(c, "num_channels", LIMITS.maxWidth, 1, source);
  if (inChans !== undefined) facts.inChans = inChans;
  const patchSize = sizeField(c, "patch_size", LIMITS.maxKernel, 1, source);
  if (patchSize !== undefined) facts.patchSize = patchSize;
  if (typeof c.drop_path_rate === "number") facts.dropPathRate = c.drop_path_rate;
  if (typeof c.id2label === "object" && c.id2label !== null) {
    const entries = Object.entries(c.id2label as Record<string, unknown>).sort(
      (a, b) => Number(a[0]) - Number(b[0]),
    );
    facts.labels = entries.map(([, v]) => String(v));
    facts.numClasses = entries.length;
  }
  const numLabels = sizeField(c, "num_labels", LIMITS.maxClasses, 0, source);
  if (numLabels !== undefined) facts.numClasses = numLabels;
  return facts;
}
