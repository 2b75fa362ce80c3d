// Softmax and top-k: probabilities sum to 1, order is by probability then class, and k is clamped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { predictionsFromLogits, softmax, topK } from "../../src/api/top-k.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";

test("softmax sums to 1, keeps order, and survives logits far beyond exp's range", () => {
  const logits = [1000, 999, 0, -1000];
  const p = softmax(logits);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(p.every(Number.isFinite));
  assert.ok(p[0] > p[1] && p[1] > p[2] && p[2] >= p[3]);
  // Shifting every logit leaves softmax unchanged.
  const q = softmax(logits.map((v) => v - 500));
  for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - q[i]) < 1e-15);
  // exp ratio of neighbours.
  assert.ok(Math.abs(p[0] / p[1] - Math.E) < 1e-9);
});

test("topK: most likely first, ties in class order, k clamped to the class count, labels attached", () => {
  const labels = ["a", "b", "c", "d"];
  const top = topK([0.1, 0.4, 0.1, 0.4], 3, labels);
  assert.deepEqual(
    top.map((p) => [p.index, p.label]),
    [
      [1, "b"],
      [3, "d"],
      [0, "a"],
    ],
  );
  assert.equal(topK([0.5, 0.5], 10, ["x", "y"]).length, 2);
  assert.throws(() => topK([1], 0, ["x"]), /positive integer/);
  assert.throws(() => topK([0.5, 0.5], 1, ["x"]), /1 labels for 2 classes/);
});

test("predictionsFromLogits works row by row", () => {
  const logits = float32([2, 3], [0, 1, 2, 5, 4, 3]);
  const [r0, r1] = predictionsFromLogits(logits, 1, ["x", "y", "z"]);
  assert.equal(r0[0].index, 2);
  assert.equal(r1[0].index, 0);
  assert.ok(Math.abs(r1[0].prob - softmax([5, 4, 3])[0]) < 1e-15);
  assert.throws(() => predictionsFromLogits(float32([3], [1, 2, 3]), 1, ["a", "b", "c"]), /\(N, classes\)/);
});
