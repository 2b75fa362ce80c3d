import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseSafetensors, serializeSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { toFloat32 } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { assertOneLineError } from "../helpers.ts";

const FIXTURE_FILES = [
  ["models", "v1-small", "timm.safetensors"],
  ["models", "v2-small", "hf", "model.safetensors"],
  ["models", "v1-small", "expected.safetensors"],
  ["grad", "adamw_step1_f64.safetensors"],
];

function bitsOf(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function header(file: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
}

test("re-serializing a file written by the Python library gives the same bytes", () => {
  for (const parts of FIXTURE_FILES) {
    const file = new Uint8Array(readFileSync(fixture(...parts)));
    const { tensors, metadata } = parseSafetensors(file, parts.join("/"));
    assert.ok(tensors.size > 0);
    const again = serializeSafetensors(tensors, metadata);
    assert.equal(Buffer.compare(again, file), 0, parts.join("/"));
  }
});

test("parsed tensors match the header's dtype, shape and bytes", () => {
  const file = new Uint8Array(readFileSync(fixture("grad", "adamw_step1_f64.safetensors")));
  const h = header(file);
  const dataStart = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const { tensors, metadata } = parseSafetensors(file);
  assert.deepEqual(metadata, h.__metadata__);
  assert.equal(tensors.size, Object.keys(h).length - 1);
  for (const [name, info] of Object.entries(h)) {
    if (name === "__metadata__") continue;
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = info as { dtype: string; shape: number[]; data_offsets: number[] };
    const t = tensors.get(name)!;
    assert.equal(dtype, "F64");
    assert.equal(t.dtype, "float64");
    assert.deepEqual(t.dims, shape);
    assert.deepEqual(bitsOf(t), file.subarray(dataStart + begin, dataStart + end));
  }
});

/** One tensor of every dtype HostTensor knows, with values that exercise sign, range and special bits. */
function everyDtype(): Record<string, HostTensor> {
  return {
    f32: { dtype: "float32", dims: [2, 2], data: Float32Array.of(1.5, -0, Number.NaN, 3.4e38) },
    f64: { dtype: "float64", dims: [3], data: Float64Array.of(0.1, -1e300, Number.NEGATIVE_INFINITY) },
    f16: { dtype: "float16", dims: [3], data: Uint16Array.of(0x3c00, 0x8001, 0x7bff) },
    bf16: { dtype: "bfloat16", dims: [1, 2], data: Uint16Array.of(0x3f80, 0xc2f7) },
    i64: { dtype: "int64", dims: [2], data: BigInt64Array.of(-(2n ** 62n), 2n ** 53n + 1n) },
    i32: { dtype: "int32", dims: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
    i8: { dtype: "int8", dims: [3], data: Int8Array.of(-128, 0, 127) },
    u8: { dtype: "uint8", dims: [1], data: Uint8Array.of(255) },
    bool: { dtype: "bool", dims: [2, 1], data: Uint8Array.of(1, 0) },
    empty: { dtype: "float32", dims: [0, 4], data: new Float32Array(0) },
    scalar: { dtype: "int32", dims: [], data: Int32Array.of(42) },
  };
}

test("every dtype round-trips, also from an unaligned buffer", () => {
  const tensors = everyDtype();
  const file = serializeSafetensors(tensors, { format: "pt", note: "ü" });
  // Shift the whole file by one byte so every tensor sits at an odd address.
  const shifted = new Uint8Array(file.length + 1).subarray(1);
  shifted.set(file);
  const back = parseSafetensors(shifted);
  assert.deepEqual(back.metadata, { format: "pt", note: "ü" });
  assert.deepEqual([...back.tensors.keys()].sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const r = back.tensors.get(name)!;
    assert.equal(r.dtype, t.dtype, name);
    assert.deepEqual(r.dims, t.dims, name);
    assert.equal(r.data.constructor, t.data.constructor, name);
    assert.equal(r.data.byteOffset % r.data.BYTES_PER_ELEMENT, 0, `${name} is aligned`);
    assert.deepEqual(bitsOf(r), bitsOf(t), name);
  }
});

test("the header lists tensors by dtype width, then name, and is padded with spaces to 8 bytes", () => {
  const file = serializeSafetensors(everyDtype());
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(file.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  // The Rust library's order: I64 > F64 > F32 > I32 > BF16 > F16 > I8 > U8 > BOOL, ties by name.
  assert.deepEqual(Object.keys(header(file)), [
    "i64",
    "f64",
    "empty",
    "f32",
    "i32",
    "scalar",
    "bf16",
    "f16",
    "i8",
    "u8",
    "bool",
  ]);
  // Integer-like names keep that order too (a plain JS object would move them first).
  const numeric = serializeSafetensors({
    b: everyDtype().f64,
    "10": everyDtype().f32,
    "2": everyDtype().f32,
  });
  const text2 = new TextDecoder().decode(
    numeric.subarray(8, 8 + Number(new DataView(numeric.buffer).getBigUint64(0, true))),
  );
  assert.ok(text2.indexOf('"b"') < text2.indexOf('"10"') && text2.indexOf('"10"') < text2.indexOf('"2"'));
});

test("float16, bfloat16 and float64 convert to the float32 values their bits encode", () => {
  const file = serializeSafetensors({
    // 1, -2, 65504 (largest half), 2^-24 (smallest subnormal), -0, +inf, 0x3555 = 2^-2 * (1 + 341/1024)
    h: {
      dtype: "float16",
      dims: [7],
      data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555),
    },
    // bfloat16 is the top half of a float32: 1, 3.140625, -123.5, 2^-133
    b: { dtype: "bfloat16", dims: [4], data: Uint16Array.of(0x3f80, 0x4049, 0xc2f7, 0x0001) },
    d: { dtype: "float64", dims: [4], data: Float64Array.of(0.1, 1 / 3, 1e40, -2.5) },
  });
  const { tensors } = parseSafetensors(file);
  const bits = (name: string) => [...new Uint32Array(toFloat32(tensors.get(name)!).data.buffer)];
  assert.deepEqual(
    bits("h"),
    [0x3f800000, 0xc0000000, 0x477fe000, 0x33800000, 0x80000000, 0x7f800000, 0x3eaaa000],
  );
  assert.deepEqual(bits("b"), [0x3f800000, 0x40490000, 0xc2f70000, 0x00010000]);
  // float64 -> float32 rounds to nearest: 0.1 -> 0x3dcccccd, 1/3 -> 0x3eaaaaab, 1e40 overflows to +inf.
  assert.deepEqual(bits("d"), [0x3dcccccd, 0x3eaaaaab, 0x7f800000, 0xc0200000]);
});

/** A file with one F32 tensor whose header is `headerJson`, followed by `dataBytes` zero bytes. */
function craft(headerJson: string, dataBytes: number): Uint8Array {
  const h = new TextEncoder().encode(headerJson);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

test("malformed headers give one-line errors naming the file", () => {
  const t = (json: string, data: number) => () => parseSafetensors(craft(json, data), "bad.safetensors");
  assertOneLineError(
    t('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4),
    /^bad\.safetensors: tensor 'a' data_offsets \[0, 8\] run past the 4 data bytes/,
  );
  assertOneLineError(
    t(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      8,
    ),
    /^bad\.safetensors: .*overlaps/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
    /^bad\.safetensors: tensor 'a' .*leaves a gap/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8),
    /^bad\.safetensors: .*'a' \(F32 \[3\]\) needs 12 bytes but data_offsets \[0, 8\] span 8/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8),
    /^bad\.safetensors: safetensors tensors cover 4 bytes but the file holds 8/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', 1),
    /unsupported dtype F8_E4M3/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"toString","shape":[1],"data_offsets":[0,1]}}', 1),
    /unsupported dtype toString/,
  );
  assertOneLineError(
    t('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4),
    /'a' has an invalid shape/,
  );
  assertOneLineError(t('{"a": [1, 2', 0), /^bad\.safetensors: safetensors header is not valid JSON/);
  assertOneLineError(t('{"__metadata__":{"n":1}}', 0), /__metadata__ value 'n' is not a string/);
  assertOneLineError(
    () => parseSafetensors(Uint8Array.of(1, 2, 3), "tiny.safetensors"),
    /^tiny\.safetensors: not a safetensors file/,
  );
  const huge = craft("{}", 0);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  assertOneLineError(
    () => parseSafetensors(huge, "huge.safetensors"),
    /^huge\.safetensors: safetensors header length 1099511627776 runs past the end/,
  );
});

test("a truncated fixture file fails with a one-line error at every cut", () => {
  const file = new Uint8Array(readFileSync(fixture("models", "v1-small", "timm.safetensors")));
  const dataStart = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  for (const cut of [
    0,
    5,
    8,
    100,
    dataStart - 1,
    dataStart,
    dataStart + 1,
    file.length >> 1,
    file.length - 1,
  ]) {
    assertOneLineError(
      () => parseSafetensors(file.subarray(0, cut), "timm.safetensors"),
      /^timm\.safetensors: /,
    );
  }
});

test("serializing a tensor whose data does not fill its shape is an error naming it", () => {
  assertOneLineError(
    () => serializeSafetensors({ w: { dtype: "float32", dims: [2, 3], data: new Float32Array(5) } }),
    /tensor 'w': shape \[2, 3\] needs 6 values, its data holds 5/,
  );
});

test("a header whose length starts like a pickle (80 02: 640 bytes) is still read as safetensors", () => {
  const tensors = { w: { dtype: "float32", dims: [2], data: Float32Array.of(1, 2) } as HostTensor };
  for (let pad = 0; pad < 1000; pad++) {
    const bytes = serializeSafetensors(tensors, { pad: "x".repeat(pad) });
    if (bytes[0] !== 0x80 || bytes[1] !== 0x02) continue;
    const parsed = parseSafetensors(bytes, "edge.safetensors");
    assert.equal(parsed.metadata.pad.length, pad);
    assert.deepEqual([...(parsed.tensors.get("w")!.data as Float32Array)], [1, 2]);
    return;
  }
  assert.fail("no padding gave a 640-byte header");
});
