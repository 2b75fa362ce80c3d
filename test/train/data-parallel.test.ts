// Data parallelism: two single-thread sessions on worker threads, each taking half of the batch, give the
// whole batch's loss, gradients and logits (drop path included), and models with batch statistics run whole.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tinyGrayConvNeXt } from "../tiny-model.ts";
import { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { initParams } from "../../src/models/init.ts";
import { roadmapConfig } from "../../src/models/roadmap.ts";
import { initRoadmapParams } from "../../src/models/roadmap-init.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { WorkerSession } from "../../src/runtime/worker-session-node.ts";
import { type Float32Tensor, float32 } from "../../src/tensor/host-tensor.ts";
import { nodeStepEngine } from "../../src/train/engine-node.ts";
import { smoothedTargets } from "../../src/train/loss.ts";
import { roadmapTrainable, scaleRoadmapConfig } from "../../src/train/roadmap-trainable.ts";
import { Rng } from "../../src/train/rng.ts";
import { StepRunner } from "../../src/train/step-runner.ts";
import { convnextTrainable } from "../../src/train/trainable.ts";

const cfg = tinyGrayConvNeXt({ depths: [1, 1, 2, 1], numClasses: 5, dropPathRate: 0.3, layerScaleInit: 0.5 });
const shape: [number, number, number, number] = [8, 1, 32, 32];

/** Parameters and a batch of images drawn from one seed. */
function randomSetup(seed: number) {
  const rng = new Rng(seed);
  const params = initParams(cfg, () => rng.normal());
  const x = float32(
    shape,
    Float32Array.from({ length: 8 * 32 * 32 }, () => rng.normal()),
  );
  return { params, x };
}

const oneSession = (params: Map<string, Float32Tensor>) =>
  StepRunner.create(convnextTrainable(cfg), params, shape, (b) => createSession(b, { threads: 1 }));
const replicated = (params: Map<string, Float32Tensor>, replicas = 2) =>
  StepRunner.create(convnextTrainable(cfg), params, shape, nodeStepEngine({ replicas }));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const replicas of [2, 4]) {
  test(`${replicas} replicas give the loss, gradients and logits of one session on the whole batch`, async () => {
    const { params, x } = randomSetup(3);
    const targets = smoothedTargets([0, 1, 2, 3, 4, 0, 1, 2], 5, 0.1);
    const whole = await oneSession(params);
    const split = await replicated(params, replicas);
    try {
      assert.equal(whole.replicaCount, 1);
      assert.equal(split.replicaCount, replicas);
      assert.deepEqual(split.batchShape, shape);
      // The same drop-path draws for both: the masks come from one generator over the whole batch.
      const a = await whole.gradients(x, targets, new Rng(9));
      const b = await split.gradients(x, targets, new Rng(9));
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
      assert.deepEqual(b.logits.dims, [8, 5]);
      assert.ok(maxAbsDiff(a.logits.data, b.logits.data) < 1e-5);
      for (const [name, g] of a.grads) {
        const scale = Math.max(1e-3, ...g.map(Math.abs));
        assert.ok(maxAbsDiff(g, b.grads.get(name)!) / scale < 1e-4, `gradient of ${name} differs`);
      }
    } finally {
      await whole.release();
      await split.release();
    }
  });
}

test("a batch that does not split evenly, or a model with batch statistics, runs as one session", async () => {
  const rng = new Rng(4);
  const odd = await StepRunner.create(
    convnextTrainable(cfg),
    initParams(cfg, () => rng.normal()),
    [7, 1, 32, 32],
    nodeStepEngine({ replicas: 2 }),
  );
  assert.equal(odd.replicaCount, 1);
  await odd.release();

  const bn = scaleRoadmapConfig(roadmapConfig("r50", "stage_ratio"), {
    widthScale: 0.125,
    depthScale: 0.25,
    inChans: 1,
    numClasses: 10,
  });
  const withStats = await StepRunner.create(
    roadmapTrainable(bn),
    initRoadmapParams(bn, () => rng.normal(), "roadmap", "kaiming"),
    [8, 1, 32, 32],
    nodeStepEngine({ replicas: 2 }),
  );
  assert.equal(withStats.replicaCount, 1);
  await withStats.release();
});

test("a worker session that cannot load its model rejects with onnxruntime's message", async () => {
  // The worker is ended too: were it left running, this test file would never exit.
  await assert.rejects(WorkerSession.create(new Uint8Array([1, 2, 3])), /failed to load model/i);
});

test("replicas read the parameters AdamW updates in shared memory, step after step", async () => {
  const { params, x } = randomSetup(5);
  const targets = smoothedTargets([4, 3, 2, 1, 0, 4, 3, 2], 5, 0.1);
  const split = await replicated(params);
  try {
    assert.equal(split.replicaCount, 2);
    const name = "stages.0.blocks.0.mlp.fc1.weight";
    assert.ok(split.params.get(name)!.data.buffer instanceof SharedArrayBuffer);
    assert.equal(split.params, params, "the caller's map holds the live parameters");
    const before = Float32Array.from(params.get(name)!.data);
    await split.step(x, targets, 1e-2, new Rng(1));
    await split.step(x, targets, 1e-2, new Rng(2));
    assert.ok(maxAbsDiff(before, params.get(name)!.data) > 1e-4, "AdamW moved the parameters");
    // A one-session runner on a plain copy of the updated parameters must see what the replicas see.
    const copy = new Map([...params].map(([k, p]) => [k, float32(p.dims, Float32Array.from(p.data))]));
    const whole = await oneSession(copy);
    try {
      const a = await whole.gradients(x, targets, new Rng(7));
      const b = await split.gradients(x, targets, new Rng(7));
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
    } finally {
      await whole.release();
    }
  } finally {
    await split.release();
  }
});

test("a session reads a feed in shared memory as it reads an ordinary one", async () => {
  const rng = new Rng(6);
  const params = initParams(cfg, () => rng.normal());
  const shared = new Map(
    [...params].map(([k, p]) => {
      const data = new Float32Array(new SharedArrayBuffer(p.data.byteLength));
      data.set(p.data);
      return [k, float32(p.dims, data)];
    }),
  );
  const x = float32(
    shape,
    Float32Array.from({ length: 8 * 32 * 32 }, () => rng.normal()),
  );
  const targets = smoothedTargets([0, 0, 1, 1, 2, 2, 3, 3], 5, 0.1);
  const [plain, fromShared] = [await oneSession(params), await oneSession(shared)];
  try {
    const a = await plain.gradients(x, targets, new Rng(8));
    const b = await fromShared.gradients(x, targets, new Rng(8));
    assert.equal(a.loss, b.loss);
    // Twice, to read the staging copy again after the shared values change.
    // (Not a constant: softmax ignores a shift shared by every class.)
    for (const p of [shared, params]) {
      const bias = p.get("head.fc.bias")!.data;
      for (let i = 0; i < bias.length; i++) bias[i] = i / 2;
    }
    const c = await plain.gradients(x, targets, new Rng(8));
    const d = await fromShared.gradients(x, targets, new Rng(8));
    assert.notEqual(a.loss, c.loss);
    assert.equal(c.loss, d.loss);
  } finally {
    await plain.release();
    await fromShared.release();
  }
});

test("a worker session reads a view into a larger Buffer as just the view", async () => {
  const g = new Graph("view");
  const bytes = g.input("bytes", "uint8", [4]);
  g.rename(g.op("Cast", [bytes], { to: 1 }), "values");
  g.output("values", [4]);
  const session = await WorkerSession.create(toOnnxBytes(g));
  try {
    const whole = Buffer.from([9, 9, 1, 2, 3, 4, 9, 9]);
    const view = whole.subarray(2, 6);
    const out = await session.run({ bytes: { dtype: "uint8", dims: [4], data: view } });
    assert.deepEqual([...out.values.data], [1, 2, 3, 4]);
    assert.deepEqual([...whole], [9, 9, 1, 2, 3, 4, 9, 9]);
  } finally {
    await session.release();
  }
});

test("replica graphs are built for their one thread: weight gradients stay whole where a 2-thread session's go in row ranges", async () => {
  // 64 images of 32² with patch 2: stage 0 has 16384 rows, a replica's half 8192, either one enough to split.
  const bigShape: [number, number, number, number] = [64, 1, 32, 32];
  const built = new Map<string, Uint8Array>();
  const engine = (replicas: number) => ({
    session: (onnx: Uint8Array) => {
      built.set("one session", onnx);
      return createSession(onnx, { threads: 2 });
    },
    replicas:
      replicas > 1
        ? {
            count: replicas,
            session: (onnx: Uint8Array) => {
              built.set("replica", onnx);
              return createSession(onnx, { threads: 1 });
            },
          }
        : undefined,
    graphOptions: async () => ({ sessionThreads: 2 }),
  });
  const params = initParams(cfg, () => 0.1);
  for (const replicas of [1, 2]) {
    const runner = await StepRunner.create(convnextTrainable(cfg), params, bigShape, engine(replicas));
    await runner.release();
  }
  const rowRanges = (name: string) => Buffer.from(built.get(name)!).includes("weight_grad_row_ranges");
  assert.equal(rowRanges("one session"), true);
  assert.equal(rowRanges("replica"), false);
});
