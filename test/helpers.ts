// Shared test helpers: reading fixture tensors and comparing them; a dead process's pid; a local HTTP server;
// a temporary directory that goes when the test file ends.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before } from "node:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** The pid of a process that has exited (what a killed writer leaves in its temp file names). */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout);
}

/**
 * An HTTP server on 127.0.0.1 (nothing leaves the machine) for the tests of this file: started before them,
 * closed after. `base()` is its address, valid once the tests run.
 */
export function localServer(handler: RequestListener): { base: () => string } {
  const server = createServer(handler);
  let base = "";
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  return { base: () => base };
}

const tempDirs = new Set<string>();

/**
 * A new directory under the system's temp folder, removed with everything in it when the test file's process
 * exits: later than `after()`, which ran while top-level work of some files still wrote into it.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0) {
    process.once("exit", () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  tempDirs.add(dir);
  return dir;
}
