// Shared test helpers: reading fixture tensors and comparing them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseSafetensors } from "../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../src/tensor/host-tensor.ts";

export function readTensors(path: string): Map<string, HostTensor> {
  return parseSafetensors(new Uint8Array(readFileSync(path)), path).tensors;
}

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  assert.deepEqual(a.dims, b.dims, "shapes differ");
  const x = a.data as Float32Array;
  const y = b.data as Float32Array | Float64Array;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

export function maxAbs(a: HostTensor): number {
  let m = 0;
  for (const v of a.data as Float32Array) m = Math.max(m, Math.abs(v));
  return m;
}

/** Asserts |a − b| ≤ tol elementwise, with a message naming the tensor and the worst difference. */
export function assertClose(name: string, actual: HostTensor, expected: HostTensor, tol: number): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${name}: max |diff| ${d.toExponential(2)} > ${tol}`);
}

/** `fn` throws an Error whose message matches `pattern` and is one line. */
export function assertOneLineError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return true;
  });
}

/** `promise` rejects with an Error whose message matches `pattern` and is one line. */
export async function rejectsOneLine(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return true;
  });
}
