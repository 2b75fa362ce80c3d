// Small generated hostile checkpoints, one per way a file could hang, exhaust memory or crash the readers:
// each must end quickly with one line naming the file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { zipSync } from "fflate";
import { readPth } from "../../src/checkpoint/pth.ts";
import { readCheckpointBytes } from "../../src/checkpoint/read-bytes.ts";
import { unpickle } from "../../src/checkpoint/pickle.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { withLimits } from "../../src/tensor/limits.ts";
import { assertOneLineError } from "../helpers.ts";
import { LEGACY_TORCH_SAVE, bytes, int, op, pthArchive, str, tensorRef } from "./pickle-writer.ts";

/** Runs `fn`, returning its duration in ms (so a test can say "fails fast", not only "fails"). */
function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function le(n: number, size: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b.subarray(0, size);
}

/** A pickle `{name: tensor}` for each [name, tensor program]. */
function dictPickle(entries: [string, Uint8Array][]): Uint8Array {
  return bytes(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    op.MARK,
    ...entries.flatMap(([k, v]) => [str(k), v]),
    op.SETITEMS,
    op.STOP,
  );
}

test("a 128-byte zip64 record claiming 2^32-1 entries fails in milliseconds", () => {
  // zip64 end record (56 bytes) + locator (20) + end record (22) with every field at its zip64 marker.
  const zip64 = bytes(
    le(0x06064b50, 4),
    le(44, 8),
    45,
    0,
    45,
    0,
    le(0, 8),
    le(2 ** 32 - 1, 8),
    le(2 ** 32 - 1, 8),
  );
  const record = bytes(zip64, le(0, 8), le(0, 8));
  const locator = bytes(le(0x07064b50, 4), le(0, 4), le(30, 8), le(1, 4));
  const end = bytes(
    le(0x06054b50, 4),
    le(0, 4),
    0xff,
    0xff,
    0xff,
    0xff,
    le(0xffffffff, 4),
    le(0xffffffff, 4),
    0,
    0,
  );
  const file = bytes(0x50, 0x4b, 0x03, 0x04, new Uint8Array(26), record, locator, end);
  const ms = timed(() =>
    assertOneLineError(
      () => readPth(file, "claims.pth"),
      /^claims\.pth: corrupt .*4294967295 entries claimed/,
    ),
  );
  assert.ok(ms < 200, `took ${ms} ms`);
});

test("a deflated zip entry is refused: torch.save never compresses, and inflating is unbounded", () => {
  const pickle = dictPickle([]);
  const zip = zipSync({ "a/data.pkl": pickle, "a/data/0": new Uint8Array(1 << 20) }, { level: 9 });
  assertOneLineError(
    () => readPth(zip, "deflated.pth"),
    /^deflated\.pth: zip entry a\/data.pkl is compressed/,
  );
});

test("a flipped storage byte fails the entry's CRC-32 instead of loading other weights", () => {
  const pickle = dictPickle([["w", tensorRef("FloatStorage", "0", 2, 0, [2], [1])]]);
  const storage = new Uint8Array(Float32Array.of(1, 2).buffer);
  const archive = pthArchive("a", pickle, { "0": storage });
  assert.deepEqual([...(readPth(archive, "ok.pth") as Map<string, HostTensor>).get("w")!.data], [1, 2]);
  const at = archive.indexOf(0x80, archive.indexOf(new TextEncoder().encode("a/data/0")[7]) + 1);
  const flipped = archive.slice();
  // The storage bytes follow the entry's local header: find 1.0f (00 00 80 3f) and flip a mantissa bit.
  const one = flipped.findIndex((_, i) => flipped[i] === 0x80 && flipped[i + 1] === 0x3f && i > 0 && at >= 0);
  flipped[one - 1] ^= 1;
  assertOneLineError(
    () => readPth(flipped, "flipped.pth"),
    /^flipped\.pth: .*a\/data\/0 fails its CRC-32 check/,
  );
});

test("a stride-0 view of 2^29 elements over a 4-byte storage is refused before it is allocated", () => {
  const pickle = dictPickle([["w", tensorRef("FloatStorage", "0", 1, 0, [2 ** 29], [0])]]);
  const archive = pthArchive("a", pickle, { "0": new Uint8Array(4) });
  const ms = timed(() =>
    assertOneLineError(() => readPth(archive, "stride0.pth"), /^stride0\.pth: .*would copy 2\.1 GB/),
  );
  assert.ok(ms < 500, `took ${ms} ms`);
});

test("contiguous views share their storage; strided copies are charged against a budget", () => {
  const n = 64 * 64;
  const views = (count: number, transposed: boolean) =>
    dictPickle(
      Array.from({ length: count }, (_, i) => [
        `v${i}`,
        tensorRef("FloatStorage", "0", n, 0, [64, 64], transposed ? [1, 64] : [64, 1]),
      ]),
    );
  const storage = new Uint8Array(new Float32Array(n).map((_, i) => i).buffer);
  const shared = readPth(pthArchive("a", views(50, false), { "0": storage }), "views.pth") as Map<
    string,
    HostTensor
  >;
  assert.equal(shared.get("v0")!.data.buffer, shared.get("v49")!.data.buffer);
  const transposed = pthArchive("a", views(50, true), { "0": storage });
  const t = (readPth(transposed, "t.pth") as Map<string, HostTensor>).get("v3")!;
  assert.equal(t.data[1], 64, "a transposed view reads down the storage's columns");
  // 50 copies of 16 KiB = 800 KiB: over a budget of the file's size plus 100 KiB.
  const tight = withLimits({ maxViewCopyBytesOverFile: 100 * 1024 });
  assertOneLineError(
    () => readPth(transposed, "many.pth", tight),
    /^many\.pth: .*\(a strided view\) would copy/,
  );
});

test("a 300 kB LONG4 integer is refused at once, and long integers convert in linear time", () => {
  const length = 300_000;
  const long4 = bytes(
    op.PROTO,
    2,
    0x8b,
    new Uint8Array(new Uint32Array([length]).buffer),
    new Uint8Array(length),
    op.STOP,
  );
  const ms = timed(() =>
    assertOneLineError(
      () => unpickle(long4, { source: "long.pkl" }),
      /^long\.pkl: pickled integer of 300000 bytes/,
    ),
  );
  assert.ok(ms < 200, `took ${ms} ms`);
  const raw = Uint8Array.from({ length: 255 }, (_, i) => (i * 37) & 0xff);
  raw[254] = 0x7f;
  let expected = 0n;
  for (let i = 254; i >= 0; i--) expected = (expected << 8n) | BigInt(raw[i]);
  assert.equal(unpickle(bytes(op.PROTO, 2, 0x8a, 255, raw, op.STOP)), expected);
  assert.equal(unpickle(bytes(op.PROTO, 2, 0x8a, 2, 0xfe, 0xff, op.STOP)), -2);
});

test("deep nesting and long lists in a pickle give one line, not a stack overflow", () => {
  const deep = bytes(op.PROTO, 2, op.NONE, new Uint8Array(100_000).fill(op.TUPLE1), op.STOP);
  assertOneLineError(
    () => unpickle(deep, { source: "deep.pkl" }),
    /^deep\.pkl: containers nest deeper than 100 levels/,
  );
  const n = 1_000_000;
  const long = bytes(
    op.PROTO,
    2,
    op.EMPTY_LIST,
    op.MARK,
    new Uint8Array(n).fill(op.NONE),
    op.APPENDS,
    op.STOP,
  );
  assert.equal((unpickle(long) as unknown[]).length, n);
});

test("the pickle memo and opcode count are bounded", () => {
  const memo = bytes(op.PROTO, 4, op.NONE, new Uint8Array(11).fill(op.MEMOIZE), op.STOP);
  const limits = withLimits({ maxPickleMemo: 10, maxPickleOps: 100 });
  assertOneLineError(
    () => unpickle(memo, { source: "memo.pkl", limits }),
    /^memo\.pkl: pickle memo grows past 10 entries/,
  );
  const ops = bytes(op.PROTO, 2, new Uint8Array(200).fill(op.NONE), op.STOP);
  assertOneLineError(
    () => unpickle(ops, { source: "ops.pkl", limits }),
    /^ops\.pkl: pickle runs more than 100 opcodes/,
  );
  assert.equal(unpickle(bytes(op.PROTO, 2, int(7), op.STOP), { limits }), 7);
});

test("a safetensors header over the limit is refused before it is parsed", () => {
  const json = new TextEncoder().encode(`{"__metadata__":{"x":"${"a".repeat(2000)}"}}`);
  const file = bytes(le(json.length, 8), json);
  assert.deepEqual(parseSafetensors(file, "ok.safetensors").metadata.x.length, 2000);
  const small = withLimits({ maxSafetensorsHeaderBytes: 1000 });
  assertOneLineError(
    () => parseSafetensors(file, "big.safetensors", small),
    /^big\.safetensors: safetensors header is 2\.0 kB, over the limit of 1\.0 kB/,
  );
});

test("a .pth handed to the safetensors reader is named as a torch.save checkpoint", () => {
  const legacy = LEGACY_TORCH_SAVE;
  assertOneLineError(
    () => parseSafetensors(legacy, "old.pth"),
    /^old\.pth: not a safetensors file: it is a legacy .*torch\.save/,
  );
  const zip = pthArchive("a", dictPickle([]));
  assertOneLineError(
    () => parseSafetensors(zip, "new.pth"),
    /^new\.pth: not a safetensors file: it is a zip archive/,
  );
});

test("many tensors viewing one storage cannot pass for a model many times the file's size", () => {
  const n = 2 ** 20;
  const keys = Array.from({ length: 80 }, (_, i) => `stages.0.blocks.${i}.conv_dw.weight`);
  const pickle = dictPickle(keys.map((k) => [k, tensorRef("FloatStorage", "0", n, 0, [n], [1])]));
  const archive = pthArchive("a", pickle, { "0": new Uint8Array(4 * n) });
  assertOneLineError(
    () => readCheckpointBytes(archive, { source: "views.pth" }),
    /^views\.pth: the checkpoint's tensors come to 335\.5 MB as float32, more than a 4\.2 MB file can hold/,
  );
});
