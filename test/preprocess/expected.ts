// Reads the preprocessing fixtures (manifest + expected.safetensors) for the tests. The safetensors layout is
// parsed here directly (8-byte header length, JSON header, raw data) so these tests depend on nothing but
// the fixture files.
import { readFileSync } from "node:fs";
import { fixture } from "../fixtures.ts";

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function readSafetensors(path: string): Map<string, ExpectedTensor> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, any>;
  const out = new Map<string, ExpectedTensor>();
  for (const [key, v] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const [a, b] = v.data_offsets as [number, number];
    // Copy so typed views are aligned whatever the offset.
    out.set(key, {
      dtype: v.dtype,
      shape: v.shape,
      bytes: new Uint8Array(buf.subarray(8 + headerLen + a, 8 + headerLen + b)),
    });
  }
  return out;
}

export const expected = readSafetensors(fixture("preprocess", "expected.safetensors"));
export const manifest = JSON.parse(readFileSync(fixture("preprocess", "manifest.json"), "utf8"));

export function expectedU8(key: string): ExpectedTensor {
  const t = expected.get(key);
  if (t?.dtype !== "U8") throw new Error(`fixture key ${key} missing or not U8`);
  return t;
}

export function expectedF32(key: string): Float32Array {
  const t = expected.get(key);
  if (t?.dtype !== "F32") throw new Error(`fixture key ${key} missing or not F32`);
  return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength / 4);
}

/** Largest absolute difference and how many values differ. */
export function compare(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; nDiff: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let nDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) nDiff++;
    if (d > maxAbs) maxAbs = d;
  }
  return { maxAbs, nDiff };
}
