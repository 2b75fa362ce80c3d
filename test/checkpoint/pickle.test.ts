import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { unzipSync, zipSync } from "fflate";
import { PyObject, unpickle } from "../../src/checkpoint/pickle.ts";
import { readPth } from "../../src/checkpoint/pth.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import {
  binget,
  binput,
  binunicode,
  bytes,
  float,
  global,
  int,
  long1,
  op,
  pthArchive,
  str,
  tensorRef,
} from "./pickle-writer.ts";

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

test("interprets the container and scalar opcodes of protocols 2-5", () => {
  const body = bytes(
    op.EMPTY_DICT,
    op.MEMOIZE,
    op.MARK,
    str("int"),
    int(-123456),
    str("small"),
    int(300),
    str("big"),
    long1(-(2n ** 70n), 10),
    str("safe-long"),
    long1(-2n, 1),
    str("float"),
    float(-1.25e-7),
    str("none"),
    op.NONE,
    str("flags"),
    op.NEWTRUE,
    op.NEWFALSE,
    op.TUPLE2,
    str("list"),
    op.EMPTY_LIST,
    op.MEMOIZE,
    op.MARK,
    int(1),
    int(2),
    op.APPENDS,
    int(3),
    op.APPEND,
    str("tuple3"),
    str("a"),
    binunicode("ünïcode"),
    op.EMPTY_TUPLE,
    op.TUPLE3,
    str("memo"),
    binget(1),
    str("od"),
    str("collections"),
    str("OrderedDict"),
    op.STACK_GLOBAL,
    op.EMPTY_TUPLE,
    op.REDUCE,
    str("k"),
    int(7),
    op.SETITEM,
    op.SETITEMS,
    op.STOP,
  );
  const frameLength = new Uint8Array(8);
  new DataView(frameLength.buffer).setUint32(0, body.length, true);
  const program = bytes(op.PROTO, 4, op.FRAME, frameLength, body);
  const out = unpickle(program) as Map<string, unknown>;
  assert.ok(out instanceof Map);
  assert.equal(out.get("int"), -123456);
  assert.equal(out.get("small"), 300);
  assert.equal(out.get("big"), -(2n ** 70n));
  assert.equal(out.get("safe-long"), -2);
  assert.equal(out.get("float"), -1.25e-7);
  assert.equal(out.get("none"), null);
  assert.deepEqual(out.get("flags"), [true, false]);
  assert.deepEqual(out.get("list"), [1, 2, 3]);
  assert.deepEqual(out.get("tuple3"), ["a", "ünïcode", []]);
  assert.ok(Object.isFrozen(out.get("tuple3")), "tuples are immutable");
  assert.equal(out.get("memo"), out.get("list"), "BINGET returns the memoized object itself");
  assert.deepEqual(out.get("od"), new Map([["k", 7]]));
});

test("argparse.Namespace (official training checkpoints) becomes an inert PyObject", () => {
  const program = bytes(
    op.PROTO,
    2,
    global("argparse", "Namespace"),
    op.EMPTY_TUPLE,
    op.NEWOBJ,
    op.EMPTY_DICT,
    str("lr"),
    float(0.004),
    op.SETITEM,
    op.BUILD,
    op.STOP,
  );
  const ns = unpickle(program);
  assert.ok(ns instanceof PyObject);
  assert.equal(ns.fields.lr, 0.004);
});

test("rebuilds tensors from storages with offset, size and stride", () => {
  const storage = Array.from({ length: 12 }, (_, i) => i * 1.5 - 4);
  const views = [
    { name: "full", offset: 0, size: [3, 4], stride: [4, 1] },
    { name: "offset", offset: 2, size: [2, 3], stride: [3, 1] },
    { name: "transposed", offset: 1, size: [3, 2], stride: [1, 4] },
    { name: "broadcast", offset: 5, size: [2, 3], stride: [0, 1] },
    { name: "scalar", offset: 11, size: [], stride: [] },
  ];
  const program = bytes(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    op.MARK,
    ...views.flatMap((v) => [str(v.name), tensorRef("FloatStorage", "0", 12, v.offset, v.size, v.stride)]),
    str("tied"),
    tensorRef("FloatStorage", "0", 12, 0, [12], [1]),
    op.SETITEMS,
    op.STOP,
  );
  const loads: string[] = [];
  const out = unpickle(program, {
    loadStorage: (key, dtype, numel) => {
      loads.push(`${key}:${dtype}:${numel}`);
      return Float32Array.from(storage);
    },
  }) as Map<string, HostTensor>;
  for (const v of views) {
    const t = out.get(v.name)!;
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.dims, v.size);
    // Independent reference: element (i, j) lives at offset + i*stride0 + j*stride1.
    const expected: number[] = [];
    if (v.size.length === 0) expected.push(storage[v.offset]);
    else {
      for (let i = 0; i < v.size[0]; i++) {
        for (let j = 0; j < v.size[1]; j++)
          expected.push(storage[v.offset + i * v.stride[0] + j * v.stride[1]]);
      }
    }
    assert.deepEqual([...t.data], expected, v.name);
  }
  assert.deepEqual(loads, Array(views.length + 1).fill("0:float32:12"));
  assert.deepEqual([...out.get("tied")!.data], storage);
});

test("tensors with Python attributes (_rebuild_from_type_v2) and Parameters rebuild to their data", () => {
  const inner = tensorRef("IntStorage", "0", 3, 0, [3], [1]);
  const rebuildV2 = global("torch._utils", "_rebuild_tensor_v2");
  // tensorRef = GLOBAL _rebuild_tensor_v2, (args tuple), REDUCE: keep just the args tuple.
  const innerArgs = inner.subarray(rebuildV2.length, inner.length - 1);
  const program = bytes(
    op.PROTO,
    2,
    op.MARK,
    global("torch._tensor", "_rebuild_from_type_v2"),
    op.MARK,
    rebuildV2,
    global("torch", "Tensor"),
    innerArgs,
    op.EMPTY_DICT,
    op.TUPLE,
    op.REDUCE,
    global("torch._utils", "_rebuild_parameter"),
    inner,
    op.NEWTRUE,
    global("collections", "OrderedDict"),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.TUPLE3,
    op.REDUCE,
    op.LIST,
    op.STOP,
  );
  const out = unpickle(program, { loadStorage: () => Int32Array.of(4, -5, 6) }) as HostTensor[];
  assert.equal(out.length, 2);
  for (const t of out) {
    assert.equal(t.dtype, "int32");
    assert.deepEqual([...t.data], [4, -5, 6]);
  }
});

test("a view that reads past its storage is an error", () => {
  const program = bytes(op.PROTO, 2, tensorRef("FloatStorage", "0", 4, 2, [3], [1]), op.STOP);
  assert.throws(
    () => unpickle(program, { source: "bad.pth", loadStorage: () => new Float32Array(4) }),
    /bad\.pth: .*reads past its 4-element storage/,
  );
});

const SENTINEL_DIR = mkdtempSync(join(tmpdir(), "convnext-pickle-"));
process.on("exit", () => rmSync(SENTINEL_DIR, { recursive: true, force: true }));

/** The usual exploit: `os.system("touch <sentinel>")` via GLOBAL/STACK_GLOBAL + REDUCE. */
function hostile(callable: Uint8Array, argument: string): Uint8Array {
  return bytes(op.PROTO, 2, callable, binput(0), str(argument), op.TUPLE1, op.REDUCE, op.STOP);
}

const HOSTILE_GLOBALS: { label: string; name: string; callable: Uint8Array }[] = [
  { label: "GLOBAL os system", name: "os.system", callable: global("os", "system") },
  { label: "GLOBAL builtins eval", name: "builtins.eval", callable: global("builtins", "eval") },
  { label: "GLOBAL posix system", name: "posix.system", callable: global("posix", "system") },
  { label: "GLOBAL subprocess Popen", name: "subprocess.Popen", callable: global("subprocess", "Popen") },
  {
    label: "STACK_GLOBAL os system",
    name: "os.system",
    callable: bytes(str("os"), str("system"), op.STACK_GLOBAL),
  },
  {
    label: "STACK_GLOBAL builtins exec",
    name: "builtins.exec",
    callable: bytes(str("builtins"), str("exec"), op.STACK_GLOBAL),
  },
];

for (const h of HOSTILE_GLOBALS) {
  test(`refuses a .pth whose pickle uses ${h.label}`, () => {
    const sentinel = join(SENTINEL_DIR, `${h.label.replaceAll(" ", "_")}`);
    const payload =
      h.name.endsWith("eval") || h.name.endsWith("exec")
        ? `open(${JSON.stringify(sentinel)}, 'w')`
        : `touch ${sentinel}`;
    const archive = pthArchive("evil", hostile(h.callable, payload));
    assert.throws(
      () => readPth(archive, "evil.pth"),
      (e: Error) => {
        assert.equal(e.message, `evil.pth: refusing to load: pickle calls forbidden global '${h.name}'`);
        return true;
      },
    );
    assert.equal(existsSync(sentinel), false, "the hostile call never ran");
  });
}

test("a forbidden global is refused as soon as it is read, before any later opcode", () => {
  // Garbage (an unknown opcode) follows the GLOBAL: the refusal must come first, not the opcode error.
  const program = bytes(op.PROTO, 2, global("os", "system"), 0xff, 0xff);
  assert.throws(() => unpickle(program, { source: "x.pth" }), /forbidden global 'os\.system'/);
  const stacked = bytes(op.PROTO, 4, str("nt"), str("system"), op.STACK_GLOBAL, 0xff);
  assert.throws(() => unpickle(stacked, { source: "x.pth" }), /forbidden global 'nt\.system'/);
});

test("REDUCE refuses to call anything but an allowed function", () => {
  const callString = bytes(op.PROTO, 2, str("os.system"), str("ls"), op.TUPLE1, op.REDUCE, op.STOP);
  assert.throws(
    () => unpickle(callString, { source: "x.pth" }),
    /x\.pth: pickle calls something that is not an allowed function/,
  );
  const callConstant = bytes(
    op.PROTO,
    2,
    global("torch", "FloatStorage"),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.STOP,
  );
  assert.throws(() => unpickle(callConstant), /not an allowed function \(torch\.FloatStorage\)/);
});

test("unknown opcodes are reported with their byte and offset", () => {
  assert.throws(
    () => unpickle(bytes(op.PROTO, 2, op.NONE, 0xff), { source: "f.pth" }),
    (e: Error) => {
      assert.equal(e.message, "f.pth: unsupported pickle opcode 0xff (pickle offset 3)");
      return true;
    },
  );
  // Protocol-0 text opcodes are not part of protocols 2-5 and are refused the same way.
  assert.throws(
    () => unpickle(bytes(op.PROTO, 2, 0x49, ...new TextEncoder().encode("1\n"))),
    /opcode 0x49 'I'/,
  );
});

test("a truncated pickle is an error, not a partial object", () => {
  const full = bytes(op.PROTO, 2, op.EMPTY_DICT, str("key"), str("value"), op.SETITEM, op.STOP);
  for (let cut = 1; cut < full.length; cut++) {
    assert.throws(
      () => unpickle(full.subarray(0, cut), { source: "t.pth" }),
      /^Error: t\.pth: /,
      `cut at ${cut}`,
    );
  }
});

test("storages in a .pth archive are read little- or big-endian as its byteorder entry says", () => {
  const values = [1.5, -2.25, 3e-8];
  const pickle = bytes(op.PROTO, 2, tensorRef("DoubleStorage", "0", 3, 0, [3], [1]), op.STOP);
  const little = new Uint8Array(Float64Array.from(values).buffer);
  const big = new Uint8Array(24);
  for (const [i, v] of values.entries()) new DataView(big.buffer).setFloat64(i * 8, v, false);
  const le = readPth(pthArchive("a", pickle, { "0": little }), "le.pth") as HostTensor;
  assert.equal(le.dtype, "float64");
  assert.deepEqual([...le.data], values);
  const bigArchive = pthArchive("b", pickle, { "0": big });
  const files = unzipSync(bigArchive);
  files["b/byteorder"] = new TextEncoder().encode("big");
  const be = readPth(zipSync(files, { level: 0 }), "be.pth") as HostTensor;
  assert.deepEqual([...be.data], values);
});

test("a storage entry of the wrong size or missing is an error naming it", () => {
  const pickle = bytes(op.PROTO, 2, tensorRef("FloatStorage", "7", 4, 0, [4], [1]), op.STOP);
  assert.throws(
    () => readPth(pthArchive("m", pickle, { "7": f32Bytes([1, 2, 3]) }), "m.pth"),
    /m\.pth: storage m\/data\/7 holds 12 bytes, expected 16/,
  );
  assert.throws(() => readPth(pthArchive("m", pickle), "m.pth"), /m\.pth: storage m\/data\/7 is missing/);
});
