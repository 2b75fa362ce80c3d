import assert from "node:assert/strict";
import { test } from "node:test";
import { float32, int64 } from "../../src/tensor/host-tensor.ts";

test("tensor constructors copy valid dims and count the values", () => {
  const dims = [2, 3];
  const t = float32(dims, [1, 2, 3, 4, 5, 6]);
  dims[0] = 9;
  assert.deepEqual(t.dims, [2, 3]);
  assert.throws(() => float32([2, 3], [1, 2]), /^Error: float32 tensor \[2,3\] needs 6 values, got 2$/);
  assert.throws(() => int64([4], [1, 2]), /^Error: int64 tensor \[4\] needs 4 values, got 2$/);
});

test("swapped or malformed dims are named in one short line, not printed value by value", () => {
  const data = new Float32Array(1 << 20).fill(0.25);
  const swapped = () => (float32 as unknown as (a: unknown, b: unknown) => unknown)(data, [1, 1 << 20]);
  assert.throws(swapped, (e: Error) => {
    assert.equal(
      e.message,
      "float32: dims must be an array of non-negative integers, got Float32Array of 1048576 values",
    );
    return true;
  });
  assert.throws(() => float32([2, -1]), /dims must be an array of non-negative integers, got \[2, -1\]$/);
  assert.throws(() => float32([2, 1.5]), /got \[2, 1\.5\]$/);
  assert.throws(
    () => float32(Array(20).fill(Number.NaN)),
    /got \[NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, … \(20 entries\)\]$/,
  );
  assert.throws(
    () => int64("3" as unknown as number[], [1, 2, 3]),
    /^Error: int64: dims must be .*, got string$/,
  );
});
