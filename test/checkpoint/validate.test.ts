import assert from "node:assert/strict";
import { test } from "node:test";
import { checkFinite, checkParams } from "../../src/checkpoint/validate.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { float32, numel } from "../../src/tensor/host-tensor.ts";

const expected = new Map<string, number[]>([
  ["stem.0.weight", [16, 3, 4, 4]],
  ["stages.0.blocks.0.gamma", [16]],
  ["stages.0.blocks.0.conv_dw.weight", [16, 1, 7, 7]],
  ["head.fc.weight", [10, 64]],
]);

test("matching parameters pass", () => {
  const actual = new Map<string, HostTensor>([...expected].map(([k, dims]) => [k, float32(dims)]));
  assert.doesNotThrow(() => checkParams(expected, actual, "ok.safetensors"));
});

test("one line counts and spells out every missing, unexpected and mis-shaped parameter with both shapes", () => {
  const actual = new Map<string, HostTensor>([
    ["stem.0.weight", float32([16, 3, 4, 4])],
    ["stages.0.blocks.0.conv_dw.weight", float32([16, 1, 5, 5])],
    ["head.fc.weight", float32([1000, 64])],
    ["foo", float32([3])],
    ["stages.0.blocks.0.layer_scale", float32([16, 1, 1])],
  ]);
  assert.throws(
    () => checkParams(expected, actual, "weights/model.pth"),
    (e: Error) => {
      assert.ok(!e.message.includes("\n"), e.message);
      const head =
        "weights/model.pth: checkpoint does not fit the model (1 missing, 2 unexpected, 2 with the wrong shape): ";
      assert.ok(e.message.startsWith(head), e.message);
      assert.deepEqual(e.message.slice(head.length).split("; ").sort(), [
        "head.fc.weight expected [10, 64], got [1000, 64]",
        "missing stages.0.blocks.0.gamma [16]",
        "stages.0.blocks.0.conv_dw.weight expected [16, 1, 7, 7], got [16, 1, 5, 5]",
        "unexpected foo [3]",
        "unexpected stages.0.blocks.0.layer_scale [16, 1, 1]",
      ]);
      return true;
    },
  );
});

test("a long mismatch spells out the first six problems and counts the rest", () => {
  const many = new Map<string, number[]>(Array.from({ length: 10 }, (_, i) => [`w${i}`, [i + 1]]));
  assert.throws(
    () => checkParams(many, new Map(), "m.safetensors"),
    (e: Error) =>
      !e.message.includes("\n") &&
      e.message.startsWith(
        "m.safetensors: checkpoint does not fit the model (10 missing): missing w0 [1]; ",
      ) &&
      e.message.split("; ").length === 7 &&
      e.message.endsWith("; missing w5 [6]; and 4 more"),
  );
});

test("a NaN or infinite weight is one line naming the file, the tensor and the index; finite weights pass", () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const actual = new Map<string, HostTensor>([...expected].map(([k, dims]) => [k, float32(dims)]));
    actual.get("stages.0.blocks.0.gamma")!.data[5] = bad;
    assert.throws(() => checkFinite(actual, "w.safetensors"), {
      message: `w.safetensors: tensor 'stages.0.blocks.0.gamma' holds ${bad} at index 5`,
    });
  }
  const fine = new Map<string, HostTensor>(
    [...expected].map(([k, dims]) => [k, float32(dims, new Float32Array(numel(dims)).fill(-3.4e38))]),
  );
  assert.doesNotThrow(() => checkFinite(fine, "w.safetensors"));
});
