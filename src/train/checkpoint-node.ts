/**
 * Training checkpoints: one safetensors file with everything a run needs to continue exactly —
 *   tensors  `model.<name>` (parameters), `ema.<name>` (the average), `optimizer.<name>.exp_avg|exp_avg_sq|step`
 *   metadata `step`/`epoch`/`batch` (position), `config` (architecture), `train_config` (TrainConfig, with the
 *            seed), `ema` and `optimizer` (their settings), `run` (how the caller set up data and logging).
 * Every random draw of training is keyed by (seed, epoch, batch) or (seed, step), so the seed and the position
 * are the whole random state. Written atomically: an interrupted save leaves the previous checkpoint intact.
 * The prefixes keep it from being mistaken for plain weights; `model.safetensors` beside it is those.
 *
 * A run saves the checkpoint and its model.safetensors as one group (saveTrainRun): both temp files are
 * written and synced, then the checkpoint is renamed into place, then the model. The checkpoint is the truth
 * (resume reads it); the model is derived from it, so a kill between the two renames can only leave the model
 * one save behind, never ahead. Both carry the same `generation` (step and a digest of the model's tensors, so
 * a resumed run still writes the same bytes as an uninterrupted one) and the checkpoint
 * holds the model's metadata, so the next start (syncModelWithCheckpoint) sees a mismatch and rewrites the model
 * from the checkpoint: after that the two agree whatever moment the kill came. Deriving the model only from the
 * checkpoint (never writing it during training) would leave users without weights to ship until a run ends; one
 * rename of a directory holding both would change where every tool finds the files.
 */

import { createHash } from "node:crypto";
import { parseSafetensors, serializeSafetensors } from "../checkpoint/safetensors.ts";
import { writeFileAtomic, writeFilesAtomic } from "../checkpoint/write-atomic-node.ts";
import { TRAIN_CHECKPOINT_FORMAT, TRAIN_STATE_METADATA } from "../checkpoint/train-layout.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import { LIMITS } from "../tensor/limits.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";
import { type Float32Tensor, float32, type HostTensor, shapeString } from "../tensor/host-tensor.ts";
import { adamwStateFromTensors, adamwStateToTensors } from "./adamw.ts";
import type { TrainConfig, TrainState } from "./trainer.ts";

export { TRAIN_CHECKPOINT_FORMAT };

export interface TrainCheckpoint<Run = unknown> {
  state: TrainState;
  config: ConvNeXtConfig;
  train: TrainConfig;
  /** The caller's own setup (JSON). */
  run: Run;
  /** Any further metadata entries (labels, preprocess, …). */
  extra: Record<string, string>;
  /** Metadata of the model.safetensors written with this checkpoint (by saveTrainRun), with its generation. */
  model?: Record<string, string>;
}

/** Where a run keeps its checkpoint and the weights derived from it. */
export interface RunPaths {
  checkpoint: string;
  model: string;
}

const OWN_KEYS = TRAIN_STATE_METADATA;

/** The tensors of a checkpoint (live buffers: serialize them before the next optimizer step). */
export function trainCheckpointTensors(state: TrainState): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, p] of state.params) out.set(`model.${name}`, p);
  if (state.ema) {
    for (const [name, values] of Object.entries(state.ema.params)) {
      const dims = state.params.get(name)?.dims ?? [values.length];
      out.set(`ema.${name}`, float32(dims, values));
    }
  }
  for (const [k, t] of Object.entries(adamwStateToTensors(state.optimizer, "optimizer."))) out.set(k, t);
  return out;
}

function checkpointBytes<Run>(ckpt: TrainCheckpoint<Run>): Uint8Array {
  const { state } = ckpt;
  const metadata: Record<string, string> = {
    ...ckpt.extra,
    format: "pt",
    checkpoint: TRAIN_CHECKPOINT_FORMAT,
    step: String(state.step),
    epoch: String(state.epoch),
    batch: String(state.batch),
    config: JSON.stringify(ckpt.config),
    train_config: JSON.stringify(ckpt.train),
    ema: JSON.stringify(state.ema ? { decay: state.ema.decay, updates: state.ema.updates } : null),
    optimizer: JSON.stringify({
      betas: state.optimizer.betas,
      eps: state.optimizer.eps,
      weightDecay: state.optimizer.weightDecay,
    }),
    run: JSON.stringify(ckpt.run),
  };
  if (ckpt.model) metadata.model_metadata = JSON.stringify(ckpt.model);
  return serializeSafetensors(trainCheckpointTensors(state), metadata);
}

/** Writes a training checkpoint atomically. */
export async function saveTrainCheckpoint<Run>(path: string, ckpt: TrainCheckpoint<Run>): Promise<void> {
  await writeFileAtomic(path, checkpointBytes(ckpt));
}

/** The weights a run ships: the EMA when it keeps one, else the parameters. */
export function shippedParams(state: TrainState): Map<string, Float32Tensor> {
  const ema = state.ema;
  if (!ema) return state.params;
  return new Map([...state.params].map(([k, p]) => [k, float32(p.dims, ema.params[k])]));
}

/** 16 hex digits of the sha256 of the tensors' names and bytes, in name order (a loaded map's order differs). */
function digestOf(tensors: Map<string, Float32Tensor>): string {
  const hash = createHash("sha256");
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name) as Float32Tensor;
    hash.update(name);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Saves the checkpoint and the shipped weights with `modelMetadata` as one group (see the header): checkpoint
 * renamed first, model second, both tagged with one new generation.
 */
export async function saveTrainRun<Run>(
  paths: RunPaths,
  ckpt: Omit<TrainCheckpoint<Run>, "model">,
  modelMetadata: Record<string, string>,
): Promise<void> {
  const shipped = shippedParams(ckpt.state);
  const model = { ...modelMetadata, generation: `${ckpt.state.step}-${digestOf(shipped)}` };
  await writeFilesAtomic([
    { path: paths.checkpoint, bytes: () => checkpointBytes({ ...ckpt, model }) },
    { path: paths.model, bytes: () => serializeSafetensors(shipped, model) },
  ]);
}

/** The `generation` of a weights file, or null when it is missing or unreadable. */
async function generationOf(path: string): Promise<string | null> {
  try {
    const bytes = await readBoundedFile(path, { maxBytes: LIMITS.maxCheckpointBytes, what: "weights" });
    return parseSafetensors(bytes, path).metadata.generation ?? null;
  } catch {
    return null;
  }
}

/**
 * Rewrites the model from `ckpt` (read from `paths.checkpoint`) when it is not the one written with it: a kill
 * came between the two renames of saveTrainRun, or the model was deleted or damaged. Returns whether it did.
 * Checkpoints written without their model's metadata are left alone.
 */
export async function syncModelWithCheckpoint(paths: RunPaths, ckpt: TrainCheckpoint): Promise<boolean> {
  const model = ckpt.model;
  if (!model?.generation || (await generationOf(paths.model)) === model.generation) return false;
  await writeFileAtomic(paths.model, serializeSafetensors(shippedParams(ckpt.state), model));
  return true;
}

function json<T>(metadata: Record<string, string>, key: string, path: string): T {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${path}: training checkpoint lacks metadata '${key}'`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${path}: metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
}

function count(metadata: Record<string, string>, key: string, path: string): number {
  const n = Number(metadata[key]);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(
      `${path}: metadata '${key}' must be a non-negative integer, got ${JSON.stringify(metadata[key])}`,
    );
  return n;
}

function float32Of(t: HostTensor | undefined, key: string, path: string): Float32Tensor {
  if (!t) throw new Error(`${path}: training checkpoint lacks tensor '${key}'`);
  if (t.dtype !== "float32") throw new Error(`${path}: tensor '${key}' is ${t.dtype}, expected float32`);
  return t as Float32Tensor;
}

/** Reads a training checkpoint written by saveTrainCheckpoint. */
export async function loadTrainCheckpoint<Run = unknown>(path: string): Promise<TrainCheckpoint<Run>> {
  const bytes = await readBoundedFile(path, {
    maxBytes: LIMITS.maxCheckpointBytes,
    what: "training checkpoint",
  });
  const { tensors, metadata } = parseSafetensors(bytes, path);
  if (metadata.checkpoint !== TRAIN_CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a training checkpoint (metadata 'checkpoint' is ${JSON.stringify(metadata.checkpoint)}, expected "${TRAIN_CHECKPOINT_FORMAT}")`,
    );
  }
  const params = new Map<string, Float32Tensor>();
  for (const [key, t] of tensors) {
    if (key.startsWith("model.")) params.set(key.slice(6), float32Of(t, key, path));
  }
  if (params.size === 0) throw new Error(`${path}: training checkpoint holds no model.* tensors`);

  const emaInfo = json<{ decay: number; updates: number } | null>(metadata, "ema", path);
  let ema: TrainState["ema"] = null;
  if (emaInfo) {
    const values: Record<string, Float32Array> = {};
    for (const [name, p] of params) {
      const t = float32Of(tensors.get(`ema.${name}`), `ema.${name}`, path);
      if (t.data.length !== p.data.length)
        throw new Error(
          `${path}: ema.${name} has shape ${shapeString(t.dims)}, the parameter ${shapeString(p.dims)}`,
        );
      values[name] = t.data;
    }
    ema = { decay: emaInfo.decay, updates: emaInfo.updates, params: values };
  }

  const opt = json<{ betas: [number, number]; eps: number; weightDecay: number }>(
    metadata,
    "optimizer",
    path,
  );
  const record: Record<string, HostTensor> = {};
  for (const [key, t] of tensors) if (key.startsWith("optimizer.")) record[key] = t;
  const names = [...params.keys()].filter((n) => record[`optimizer.${n}.exp_avg`] !== undefined);
  const optimizer = adamwStateFromTensors(record, names, opt, "optimizer.");

  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (!OWN_KEYS.includes(k)) extra[k] = v;
  return {
    state: {
      step: count(metadata, "step", path),
      epoch: count(metadata, "epoch", path),
      batch: count(metadata, "batch", path),
      params,
      optimizer,
      ema,
    },
    config: json<ConvNeXtConfig>(metadata, "config", path),
    train: json<TrainConfig>(metadata, "train_config", path),
    run: json<Run>(metadata, "run", path),
    extra,
    ...(metadata.model_metadata === undefined
      ? {}
      : { model: json<Record<string, string>>(metadata, "model_metadata", path) }),
  };
}
