// float → IEEE half, checked against numpy's astype(float16) bits for the cases that round differently.
import assert from "node:assert/strict";
import { test } from "node:test";
import { floatToHalf, halfToFloat, toFloat16 } from "../../src/tensor/host-tensor.ts";

// [value, numpy.float32(value).astype(numpy.float16) bits]
const NUMPY: [number, number][] = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2.5, 0xc100],
  [0.1, 0x2e66],
  [1 / 3, 0x3555],
  [65504, 0x7bff], // largest half
  [65520, 0x7c00], // rounds up to infinity
  [1e5, 0x7c00],
  [-1e5, 0xfc00],
  [1e-6, 0x0011], // subnormal
  [6e-8, 0x0001], // smallest subnormal
  [2.98e-8, 0x0000], // just below half of it: zero
  [3e-8, 0x0001],
  [2049, 0x6800], // tie: to even (2048)
  [2051, 0x6802], // tie: to even (2052)
  [6.1e-5, 0x03ff], // largest subnormal after rounding
  [Number.POSITIVE_INFINITY, 0x7c00],
  [Number.NaN, 0x7e00],
];

test("floatToHalf rounds to nearest even like numpy, through subnormals, overflow and NaN", () => {
  for (const [v, bits] of NUMPY) assert.equal(floatToHalf(v), bits, `${v}`);
});

test("every half survives half → float → half", () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfToFloat(h);
    if (Number.isNaN(v)) continue;
    assert.equal(floatToHalf(v), h, `0x${h.toString(16)}`);
  }
  const t = toFloat16({ dtype: "float32", dims: [2], data: Float32Array.of(1, -0.5) });
  assert.deepEqual(t, { dtype: "float16", dims: [2], data: Uint16Array.of(0x3c00, 0xb800) });
});
