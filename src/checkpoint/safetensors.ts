/**
 * safetensors read/write (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the data.
 * Written by hand because it is ~150 lines and no installed library reads it; the checks mirror the reference
 * Rust implementation (offsets contiguous from 0 to the end of the file, sizes = numel * bytes); the header is held
 * to 16 MiB (LIMITS), far below the reference's 100 MB, because parsing 98 MB of JSON costs 2 GB and half a minute.
 */
import type { DType, HostTensor } from "../tensor/host-tensor.ts";
import {
  BYTES_PER_ELEMENT,
  checkHostTensor,
  describeData,
  numel,
  shapeString,
} from "../tensor/host-tensor.ts";
import type { Limits } from "../tensor/limits.ts";
import { formatBytes, LIMITS } from "../tensor/limits.ts";
import { printable } from "./printable.ts";
import { describeNotSafetensors } from "./sniff.ts";
import { tensorBytes, typedArrayFromBytes } from "./tensor-bytes.ts";

export interface Safetensors {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

const FROM_FILE_DTYPE: Record<string, DType> = {
  F32: "float32",
  F64: "float64",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

const TO_FILE_DTYPE: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

// The reference writer orders tensors by this dtype rank, largest first, then by name; rank follows the order of
// the Rust `Dtype` enum (declared in increasing alignment). Matching it keeps our files byte-identical to theirs.
const DTYPE_RANK: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int8: 2,
  float16: 7,
  bfloat16: 8,
  int32: 9,
  float32: 11,
  float64: 12,
  int64: 13,
};

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(name: string, raw: unknown, source: string): HeaderEntry {
  const bad = (why: string) => new Error(`${source}: safetensors header entry '${printable(name)}' ${why}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("is not an object");
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string") throw bad("has no dtype");
  const hostDtype = Object.hasOwn(FROM_FILE_DTYPE, dtype) ? FROM_FILE_DTYPE[dtype] : undefined;
  if (hostDtype === undefined) throw bad(`has unsupported dtype ${printable(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) throw bad("has an invalid shape");
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
    throw bad("has invalid data_offsets");
  }
  const [begin, end] = offsets as number[];
  const expectedBytes = numel(shape) * BYTES_PER_ELEMENT[hostDtype];
  if (end < begin || end - begin !== expectedBytes) {
    throw bad(
      `(${dtype} ${shapeString(shape)}) needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype: hostDtype, shape, begin, end };
}

function parseHeaderJson(bytes: Uint8Array, headerBytes: number, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw new Error(`${source}: safetensors header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error(`${source}: safetensors header is not a JSON object`);
  }
  return header as Record<string, unknown>;
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`${source}: safetensors __metadata__ is not an object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string")
      throw new Error(`${source}: safetensors __metadata__ value '${printable(k)}' is not a string`);
    out[k] = v;
  }
  return out;
}

/** Parses a whole safetensors file. Every tensor gets its own aligned copy of the data. */
export function parseSafetensors(
  bytes: Uint8Array,
  source = "safetensors",
  limits: Pick<Limits, "maxSafetensorsHeaderBytes"> = LIMITS,
): Safetensors {
  if (!(bytes instanceof Uint8Array))
    throw new Error(`${source}: safetensors bytes must be a Uint8Array, got ${describeData(bytes)}`);
  const other = describeNotSafetensors(bytes);
  if (other) throw new Error(`${source}: not a safetensors file: ${other}`);
  if (bytes.byteLength < 8) {
    throw new Error(
      `${source}: not a safetensors file (${bytes.byteLength} bytes, shorter than the 8-byte header length)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared + 8n > BigInt(bytes.byteLength)) {
    throw new Error(
      `${source}: safetensors header length ${declared} runs past the end of the ${bytes.byteLength}-byte file (truncated, or not a safetensors file)`,
    );
  }
  const headerBytes = Number(declared);
  if (headerBytes > limits.maxSafetensorsHeaderBytes) {
    throw new Error(
      `${source}: safetensors header is ${formatBytes(headerBytes)}, over the limit of ${formatBytes(limits.maxSafetensorsHeaderBytes)}`,
    );
  }
  const header = parseHeaderJson(bytes, headerBytes, source);
  const metadata = parseMetadata(header.__metadata__, source);
  const entries = Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, raw]) => parseEntry(name, raw, source))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);

  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.byteLength - dataStart;
  let cursor = 0;
  for (const e of entries) {
    if (e.end > dataBytes) {
      throw new Error(
        `${source}: tensor '${printable(e.name)}' data_offsets [${e.begin}, ${e.end}] run past the ${dataBytes} data bytes (truncated?)`,
      );
    }
    if (e.begin !== cursor) {
      const what =
        e.begin < cursor ? "overlaps the previous tensor" : "leaves a gap after the previous tensor";
      throw new Error(
        `${source}: tensor '${printable(e.name)}' data_offsets [${e.begin}, ${e.end}] ${what} (ends at ${cursor})`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataBytes) {
    throw new Error(
      `${source}: safetensors tensors cover ${cursor} bytes but the file holds ${dataBytes} data bytes`,
    );
  }

  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { dtype: e.dtype, dims: e.shape, data: typedArrayFromBytes(e.dtype, raw) });
  }
  return { tensors, metadata };
}

function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Serializes tensors as the reference library does: tensors sorted by dtype (widest first) then by name (UTF-8
 * bytes), `__metadata__` first, the header padded with spaces to a multiple of 8 bytes so the data starts aligned.
 */
export function serializeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const encoder = new TextEncoder();
  const list = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].map(
    ([name, t]) => {
      if (name === "__metadata__") throw new Error("a tensor cannot be named __metadata__ in safetensors");
      checkHostTensor(t, `tensor '${name}'`);
      return { name, key: encoder.encode(name), t };
    },
  );
  list.sort((a, b) => DTYPE_RANK[b.t.dtype] - DTYPE_RANK[a.t.dtype] || compareUtf8(a.key, b.key));

  // The JSON text is assembled by hand: a JS object would move integer-like names ("0", "1") to the front.
  const fields: string[] = [];
  if (metadata !== undefined) {
    const pairs = Object.keys(metadata)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(metadata[k]))}`);
    fields.push(`"__metadata__":{${pairs.join(",")}}`);
  }
  let offset = 0;
  for (const { name, t } of list) {
    const n = t.data.byteLength;
    const info = { dtype: TO_FILE_DTYPE[t.dtype], shape: t.dims, data_offsets: [offset, offset + n] };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += n;
  }
  const json = encoder.encode(`{${fields.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const { t } of list) {
    out.set(tensorBytes(t), at);
    at += t.data.byteLength;
  }
  return out;
}
