import assert from "node:assert/strict";
import { test } from "node:test";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { inferenceGraph } from "../../src/models/inference-graph.ts";
import { initParams } from "../../src/models/init.ts";
import { modelConfig } from "../../src/models/variants.ts";
import { batchWorkerCount } from "../../src/node/batch-sessions.ts";
import { ConvNeXtModel } from "../../src/node/model.ts";
import { BatchParallelSession } from "../../src/runtime/batch-parallel-node.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { Rng } from "../../src/train/rng.ts";
import { assertClose, maxAbs } from "../helpers.ts";
import { tinyGrayConvNeXt } from "../tiny-model.ts";

function images(n: number, c: number, size: number, seed: number) {
  const rng = new Rng(seed);
  return float32(
    [n, c, size, size],
    Float32Array.from({ length: n * c * size * size }, () => rng.normal()),
  );
}

/** Within 1e-5 of the largest expected value. */
function assertSame(actual: HostTensor, expected: HostTensor, what: string) {
  assertClose(what, actual, expected, 1e-5 * maxAbs(expected));
}

test("a batch split over worker sessions gives each image's outputs in batch order", async () => {
  const cfg = tinyGrayConvNeXt();
  const rng = new Rng(3);
  const onnx = toOnnxBytes(
    inferenceGraph(
      cfg,
      initParams(cfg, () => rng.normal()),
      ["stage1", "logits"],
    ),
  );
  const whole = await createSession(onnx, { threads: 1 });
  // 7 images, 2 at a time over 3 workers: runs of 2, 2, 2 and 1 image, taken by whichever worker is free.
  const split = await BatchParallelSession.create(onnx, 3, 2);
  try {
    const x = images(7, 1, 32, 1);
    const expected = await whole.run({ x });
    const actual = await split.run({ x });
    assert.deepEqual(Object.keys(actual).sort(), ["logits", "stage1"]);
    for (const name of ["logits", "stage1"]) assertSame(actual[name], expected[name], name);
    // A batch smaller than the workers × images per run still fills every image.
    assertSame(
      (await split.run({ x: images(1, 1, 32, 2) })).logits,
      (await whole.run({ x: images(1, 1, 32, 2) })).logits,
      "batch 1",
    );
    // Without handOver the caller keeps its bytes; with it the last worker takes them (no copy).
    assert.ok(onnx.byteLength > 0);
    const given = new Uint8Array(onnx);
    const handedOver = await BatchParallelSession.create(given, 2, 1, 1, { handOver: true });
    try {
      assert.equal(given.byteLength, 0, "the bytes moved to a worker");
      assertSame((await handedOver.run({ x })).logits, expected.logits, "handed-over model");
    } finally {
      await handedOver.release();
    }
    // A run that fails fails the batch with the engine's error, and the workers serve the next batch.
    await assert.rejects(split.run({ x: images(4, 2, 32, 1) }), /dimension/i);
    await assert.rejects(split.run({ x: images(0, 1, 32, 1) }), /at least one image/);
    assertSame((await split.run({ x })).logits, expected.logits, "after a failure");
  } finally {
    await whole.release();
    await split.release();
  }
});

test("ConvNeXtModel runs a batch with enough work on one worker session per thread, with the same results", async () => {
  const cfg = modelConfig("convnext_atto");
  const rng = new Rng(5);
  const weights = initParams(cfg, () => 0.05 * rng.normal());
  const one = new ConvNeXtModel(cfg, weights, 1);
  const two = new ConvNeXtModel(cfg, weights, 2);
  try {
    const x = images(3, 3, 224, 4);
    assertSame((await two.forward(x)).logits, (await one.forward(x)).logits, "logits");
  } finally {
    await one.release();
    await two.release();
  }
});

test("worker sessions only for batches of enough work, never more than the threads, the batch or the weights allow", () => {
  const t = { threads: 2, batch: 8, macsPerImage: 4.5e9, weightBytes: 114e6 };
  assert.equal(batchWorkerCount(t), 2);
  assert.equal(batchWorkerCount({ ...t, threads: 1 }), 1);
  assert.equal(batchWorkerCount({ ...t, batch: 1 }), 1);
  assert.equal(batchWorkerCount({ ...t, threads: 16 }), 4);
  assert.equal(batchWorkerCount({ ...t, threads: 16, batch: 3 }), 3);
  // The bundled Fashion-MNIST model: 27 M multiply-adds per image, a batch of 8 is not worth the workers.
  assert.equal(batchWorkerCount({ ...t, macsPerImage: 27e6, weightBytes: 8.5e6 }), 1);
  // ...unless it is int8, whose images run one per run: single-thread workers then, on any batch of two or more.
  const int8 = { ...t, macsPerImage: 27e6, weightBytes: 8.5e6, imagePerRun: true };
  assert.equal(batchWorkerCount(int8), 2);
  assert.equal(batchWorkerCount({ ...int8, batch: 1 }), 1);
  assert.equal(batchWorkerCount({ ...int8, threads: 1 }), 1);
  // ConvNeXt-XL's 1.4 GB of weights get no extra copies.
  assert.equal(batchWorkerCount({ ...t, weightBytes: 1.4e9 }), 1);
});
