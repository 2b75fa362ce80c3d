/**
 * The key-count and shape check at the checkpoint boundary: a model's parameter list against a checkpoint's
 * tensors. Every problem is reported at once, so one run shows the whole mismatch.
 */
import type { HostTensor } from "../tensor/host-tensor.ts";
import { sameDims, shapeString } from "../tensor/host-tensor.ts";
import { printable } from "./printable.ts";

/** How many problems the error spells out; the rest are counted. */
const LISTED = 6;

/**
 * Throws a one-line Error that names `source`, counts the missing keys, unexpected keys and shape mismatches,
 * and spells out the first few (a mismatch with both shapes). Returns normally when the two sides match exactly.
 */
export function checkParams(
  expected: Map<string, number[]>,
  actual: Map<string, HostTensor>,
  source: string,
): void {
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [key, dims] of expected) {
    const t = actual.get(key);
    if (!t) missing.push(`missing ${printable(key)} ${shapeString(dims)}`);
    else if (!sameDims(t.dims, dims)) {
      mismatched.push(`${printable(key)} expected ${shapeString(dims)}, got ${shapeString(t.dims)}`);
    }
  }
  const unexpected: string[] = [];
  for (const [key, t] of actual)
    if (!expected.has(key)) unexpected.push(`unexpected ${printable(key)} ${shapeString(t.dims)}`);

  if (missing.length + unexpected.length + mismatched.length === 0) return;
  const counts = [
    missing.length && `${missing.length} missing`,
    unexpected.length && `${unexpected.length} unexpected`,
    mismatched.length && `${mismatched.length} with the wrong shape`,
  ].filter(Boolean);
  const problems = [...mismatched, ...missing, ...unexpected];
  const more = problems.length > LISTED ? `; and ${problems.length - LISTED} more` : "";
  throw new Error(
    `${source}: checkpoint does not fit the model (${counts.join(", ")}): ${problems.slice(0, LISTED).join("; ")}${more}`,
  );
}

/**
 * Throws a one-line Error naming `source`, the tensor and the first NaN or infinite value's index. A diverged
 * run's weights would otherwise make every answer NaN (or, quantized to int8, quietly plausible).
 */
export function checkFinite(tensors: Map<string, HostTensor>, source: string): void {
  for (const [key, t] of tensors) {
    const data = t.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) continue;
    // x·0 is 0 for every finite x and NaN for NaN or ±Infinity: one multiply-add per value finds either.
    let probe = 0;
    for (let i = 0; i < data.length; i++) probe += data[i] * 0;
    if (probe === 0) continue;
    const at = data.findIndex((v) => !Number.isFinite(v));
    throw new Error(`${source}: tensor '${printable(key)}' holds ${data[at]} at index ${at}`);
  }
}
