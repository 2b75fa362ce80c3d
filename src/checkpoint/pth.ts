/**
 * PyTorch checkpoints (`torch.save`, torch >= 1.6): a zip archive whose entries share one folder prefix
 * (`<stem>/data.pkl`, `<stem>/data/<key>`, `<stem>/byteorder`, ...). `data.pkl` describes the object tree and
 * points at the raw storages in `data/<key>` through persistent ids; `pickle.ts` interprets it without running it.
 */
import type { DType, TensorData } from "../tensor/host-tensor.ts";
import { BYTES_PER_ELEMENT } from "../tensor/host-tensor.ts";
import { unpickle } from "./pickle.ts";
import { printable } from "./printable.ts";
import { typedArrayFromBytes } from "./tensor-bytes.ts";
import { readStoredZip } from "./zip.ts";
import type { Limits } from "../tensor/limits.ts";
import { LIMITS } from "../tensor/limits.ts";

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const PICKLE_PROTO = 0x80;
// Legacy torch.save files open with a pickled magic number, 0x1950a86a20f9469cfc6c as LONG1 (10 bytes).
const LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isZip(bytes: Uint8Array): boolean {
  return startsWith(bytes, ZIP_MAGIC) || startsWith(bytes, EMPTY_ZIP_MAGIC);
}

/** A pre-1.6 `torch.save` file: PROTO n, then the magic number. */
export function isLegacyTorchSave(bytes: Uint8Array): boolean {
  return bytes[0] === PICKLE_PROTO && startsWith(bytes.subarray(2), LEGACY_MAGIC);
}

/** The archive folder name: the part before `/data.pkl` (the file stem when torch.save wrote it). */
function archivePrefix(files: Map<string, Uint8Array>, fileName: string): string {
  const prefixes = [...files.keys()]
    .map((name) => /^([^/]+)\/data\.pkl$/.exec(name)?.[1])
    .filter((p): p is string => p !== undefined);
  if (prefixes.length === 0) {
    throw new Error(
      `${fileName}: zip archive has no <folder>/data.pkl entry, so it is not a PyTorch checkpoint`,
    );
  }
  if (prefixes.length > 1) {
    throw new Error(
      `${fileName}: zip archive has several data.pkl entries (${printable(prefixes.join(", "))})`,
    );
  }
  return prefixes[0];
}

/**
 * Reads a `torch.save` zip checkpoint and returns its object tree, tensors as HostTensor (see pickle.ts for how
 * other Python values map). Only allow-listed globals are rebuilt; anything else is refused.
 */
export function readPth(
  bytes: Uint8Array,
  fileName = "checkpoint",
  limits: Readonly<Limits> = LIMITS,
): unknown {
  if (!isZip(bytes)) {
    if (bytes[0] === PICKLE_PROTO) {
      throw new Error(
        `${fileName}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch.save's default zip format (torch.save(torch.load(f), f))`,
      );
    }
    throw new Error(`${fileName}: not a PyTorch checkpoint (no zip signature)`);
  }
  const files = readStoredZip(bytes, fileName, limits);
  const prefix = archivePrefix(files, fileName);
  if (files.has(`${prefix}/constants.pkl`)) {
    throw new Error(
      `${fileName}: this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the state_dict instead`,
    );
  }
  const byteorder = files.get(`${prefix}/byteorder`);
  const order = byteorder === undefined ? "little" : new TextDecoder().decode(byteorder).trim();
  if (order !== "little" && order !== "big")
    throw new Error(`${fileName}: unknown byteorder '${printable(order)}'`);

  // torch caches storages by key too: tensors that share a storage (tied weights, views) share it here.
  const storages = new Map<string, TensorData>();
  const loadStorage = (key: string, dtype: DType, numel: number): TensorData => {
    const cacheKey = `${key}:${dtype}`;
    const cached = storages.get(cacheKey);
    if (cached) return cached;
    const name = `${prefix}/data/${key}`;
    const entry = files.get(name);
    if (entry === undefined)
      throw new Error(`${fileName}: storage ${printable(name)} is missing from the archive`);
    const expected = numel * BYTES_PER_ELEMENT[dtype];
    if (entry.length !== expected) {
      throw new Error(
        `${fileName}: storage ${printable(name)} holds ${entry.length} bytes, expected ${expected} (${numel} x ${dtype})`,
      );
    }
    const data = typedArrayFromBytes(dtype, entry, order === "little");
    storages.set(cacheKey, data);
    return data;
  };
  // Strided views are copied out of their storages; together they may not copy much more than the file holds.
  const copyBudget = bytes.length + limits.maxViewCopyBytesOverFile;
  return unpickle(files.get(`${prefix}/data.pkl`)!, { source: fileName, loadStorage, limits, copyBudget });
}
