// The bounded reader behind every path input: regular files only, size checked before reading.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkLimit, jsonDepth, withLimits } from "../../src/tensor/limits.ts";
import { readBoundedFile } from "../../src/tensor/read-file-node.ts";
import { assertOneLineError, rejectsOneLine, tempDir } from "../helpers.ts";

const dir = tempDir("convnext-read-");
const opts = { maxBytes: 100, what: "checkpoint" };

test("a regular file is read whole; one over the limit is refused by its size", async () => {
  const path = join(dir, "small.bin");
  writeFileSync(
    path,
    Uint8Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual([...(await readBoundedFile(path, opts))].slice(98), [98, 99]);
  writeFileSync(path, new Uint8Array(101));
  await rejectsOneLine(
    readBoundedFile(path, opts),
    /small\.bin: checkpoint is 101 bytes, over the limit of 100 bytes/,
  );
});

test("/dev/zero, a FIFO with no writer and a directory are refused at once", async () => {
  await rejectsOneLine(
    readBoundedFile("/dev/zero", opts),
    /^\/dev\/zero: cannot read checkpoint: it is a device/,
  );
  const fifo = join(dir, "pipe.pth");
  execFileSync("mkfifo", [fifo]);
  await rejectsOneLine(readBoundedFile(fifo, opts), /pipe\.pth: cannot read checkpoint: it is a pipe/);
  await rejectsOneLine(readBoundedFile(dir, opts), /: cannot read checkpoint: it is a directory/);
  await rejectsOneLine(
    readBoundedFile(join(dir, "none"), opts),
    /none: cannot read checkpoint \(no such file/,
  );
});

test("a limit cannot be switched off by NaN, zero or a non-number", () => {
  for (const bad of [Number.NaN, 0, -1, "1000"]) {
    assertOneLineError(() => checkLimit("maxPixels", bad), /^maxPixels must be a positive number/);
  }
  assert.equal(checkLimit("maxPixels", Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  assertOneLineError(
    () => withLimits({ maxPixels: Number.NaN }),
    /^maxPixels must be a positive number, got NaN/,
  );
  assert.equal(withLimits({ maxPixels: 5 }).maxPixels, 5);
});

test("JSON depth is measured without recursion", () => {
  assert.equal(jsonDepth({ a: [1, { b: 2 }] }), 3);
  assert.equal(jsonDepth(JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`)), 200_000);
});
