/**
 * Checkpoint files on disk (Node only): read any supported file, rename to timm's keys, convert to float32 and
 * infer the architecture; write safetensors atomically (write-atomic-node.ts: a crash never leaves a half-written
 * checkpoint under the real name).
 */
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ConvNeXtConfig } from "../models/config.ts";
import type { Float32Tensor, HostTensor } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";
import type { Convention } from "./conventions.ts";
import { readCheckpointBytes } from "./read-bytes.ts";
import { serializeSafetensors } from "./safetensors.ts";
import { writeFileAtomic } from "./write-atomic-node.ts";

export { writeFileAtomic };

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
  // An export's graph holds its weights folded and renamed: it cannot be read back as a checkpoint, and read as
  // safetensors its first bytes make a nonsense header length.
  if (path.toLowerCase().endsWith(".onnx"))
    throw new Error(
      `${path}: an exported ONNX model, not a checkpoint (.safetensors, .pth or an HF folder); classify and embed run .onnx files`,
    );
  const { weights: source, hfConfig } = await locate(path);
  const bytes = await readBoundedFile(source, { maxBytes: LIMITS.maxCheckpointBytes, what: "checkpoint" });
  const json = hfConfig ? await readJsonFile(hfConfig, "HF config") : undefined;
  const ckpt = readCheckpointBytes(bytes, {
    source,
    useEma: opts.useEma,
    hfConfig: json,
    hfConfigSource: hfConfig,
  });
  return { ...ckpt, source };
}

/** A JSON file of bounded size, parsed; one line naming the file when it is not JSON. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const bytes = await readBoundedFile(path, { maxBytes: LIMITS.maxConfigBytes, what });
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path}: cannot read ${what} (${(e as Error).message.split("\n")[0]})`);
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
