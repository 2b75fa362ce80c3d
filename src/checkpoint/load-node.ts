/**
 * Checkpoint files on disk (Node only): read any supported file, rename to timm's keys, convert to float32 and
 * infer the architecture; write safetensors atomically (temp file in the same directory, then rename, so a crash
 * never leaves a half-written checkpoint under the real name).
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ConvNeXtConfig } from "../models/config.ts";
import type { Float32Tensor, HostTensor } from "../tensor/host-tensor.ts";
import type { Convention } from "./conventions.ts";
import { readCheckpointBytes } from "./read-bytes.ts";
import { serializeSafetensors } from "./safetensors.ts";

export interface LoadedCheckpoint {
  /** Parameters under timm's names, all float32. */
  tensors: Map<string, Float32Tensor>;
  /** The naming convention the file used. */
  convention: Convention;
  /** Architecture read off the weights (plus the head LN eps from an HF config.json). */
  config: ConvNeXtConfig;
  /** The weights file that was read. */
  source: string;
  /** Class names, when an HF config.json lists them (id2label). */
  labels?: string[];
  /** safetensors `__metadata__` ({} for .pth files). */
  metadata: Record<string, string>;
  /** The file is a training checkpoint of `convnext train` (parameters, EMA, optimizer state). */
  trainCheckpoint: boolean;
}

export interface LoadOptions {
  /** Load the EMA weights of a training checkpoint (`ema.*`, `model_ema`, `state_dict_ema`) instead of the model's. */
  useEma?: boolean;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A directory means an HF `save_pretrained` folder; a file may have an HF config.json beside it. */
async function locate(path: string): Promise<{ weights: string; hfConfig?: string }> {
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === "ENOENT" ? `${path}: no such file or directory` : `${path}: ${e.message}`);
  });
  if (!info.isDirectory()) {
    const beside = join(dirname(path), "config.json");
    return { weights: path, hfConfig: (await exists(beside)) ? beside : undefined };
  }
  for (const name of ["model.safetensors", "pytorch_model.bin"]) {
    const weights = join(path, name);
    if (await exists(weights)) {
      const config = join(path, "config.json");
      return { weights, hfConfig: (await exists(config)) ? config : undefined };
    }
  }
  throw new Error(`${path}: directory holds no model.safetensors or pytorch_model.bin`);
}

export async function loadCheckpointFile(path: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { weights: source, hfConfig } = await locate(path);
  let file: Buffer;
  try {
    file = await readFile(source);
  } catch (e) {
    throw new Error(`cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  let json: unknown;
  if (hfConfig) {
    try {
      json = JSON.parse(await readFile(hfConfig, "utf8"));
    } catch (e) {
      throw new Error(`${hfConfig}: cannot read HF config (${(e as Error).message})`);
    }
  }
  const ckpt = readCheckpointBytes(bytes, {
    source,
    useEma: opts.useEma,
    hfConfig: json,
    hfConfigSource: hfConfig,
  });
  return { ...ckpt, source };
}

/** Writes `bytes` to `path` via a temp file in the same directory and a rename; removes the temp file on failure. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, "wx");
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Serializes tensors as safetensors and writes them atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
