/**
 * How the files `convnext train` writes hold their weights, so every reader can take them like any checkpoint:
 * - the training checkpoint (metadata `checkpoint` = TRAIN_CHECKPOINT_FORMAT): `model.<name>` parameters,
 *   `ema.<name>` their average (when the run kept one), `optimizer.<name>.*` AdamW state;
 * - the shipped weights (`model.safetensors`): plain timm names, with metadata `weights` = `model` or
 *   `ema <decay>` saying which of the two they are.
 * Layout writer: src/train/checkpoint-node.ts.
 */
import type { HostTensor } from "../tensor/host-tensor.ts";
import { printable } from "./printable.ts";

/** Marks a file as a training checkpoint, and its layout version. */
export const TRAIN_CHECKPOINT_FORMAT = "convnext-train-1";

/** Metadata entries that describe the training state, not the model. */
export const TRAIN_STATE_METADATA = [
  "format",
  "checkpoint",
  "step",
  "epoch",
  "batch",
  "config",
  "train_config",
  "ema",
  "optimizer",
  "run",
  "model_metadata",
];

export function isTrainCheckpoint(metadata: Record<string, string>): boolean {
  return metadata.checkpoint === TRAIN_CHECKPOINT_FORMAT;
}

/** The `ema` entry of a training checkpoint: its settings, or null when the run kept no average. */
function emaSettings(metadata: Record<string, string>, source: string): { decay: number } | null {
  let ema: unknown;
  try {
    ema = JSON.parse(metadata.ema ?? "null");
  } catch {
    throw new Error(`${source}: metadata 'ema' is not valid JSON`);
  }
  if (ema === null) return null;
  const decay = (ema as { decay?: unknown }).decay;
  if (typeof decay !== "number")
    throw new Error(`${source}: metadata 'ema' must be null or {"decay": <number>, …}`);
  return { decay };
}

function withPrefix(tensors: Map<string, HostTensor>, prefix: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, t] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
  return out;
}

/**
 * The weights of a training checkpoint: its parameters, or with `useEma` their average. Throws one line naming
 * `source` when the EMA is asked for and the run kept none.
 */
export function trainCheckpointWeights(
  tensors: Map<string, HostTensor>,
  metadata: Record<string, string>,
  opts: { useEma?: boolean; source: string },
): Map<string, HostTensor> {
  const { source } = opts;
  if (!opts.useEma) {
    const params = withPrefix(tensors, "model.");
    if (params.size === 0) throw new Error(`${source}: training checkpoint holds no model.* tensors`);
    return params;
  }
  const ema = withPrefix(tensors, "ema.");
  if (ema.size === 0 || emaSettings(metadata, source) === null)
    throw new Error(`${source}: no EMA weights in this training checkpoint (the run trained with EMA off)`);
  return ema;
}

/** Which weights a file holds, as `useEma` asks: `ema <decay>` when they are an average, `model` when not. */
export function weightsKind(
  metadata: Record<string, string>,
  opts: { useEma?: boolean; source: string },
): string | undefined {
  if (isTrainCheckpoint(metadata)) {
    if (!opts.useEma) return "model";
    return `ema ${emaSettings(metadata, opts.source)?.decay}`;
  }
  return metadata.weights;
}

/**
 * A plain weights file asked for its EMA: fine when its metadata says it is one (`weights: ema …`, as train
 * ships it); one line naming `source` when it says it is the raw parameters.
 */
export function checkPlainEma(metadata: Record<string, string>, source: string): boolean {
  const kind = metadata.weights;
  if (kind === undefined) return false;
  if (kind.startsWith("ema")) return true;
  throw new Error(
    `${source}: holds the trained parameters without an average (metadata weights '${printable(kind)}'); drop --use-ema`,
  );
}
