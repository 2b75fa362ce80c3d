// AdamW with half of every large tensor updated on a worker thread gives the one-thread update bit for bit,
// step after step, layer-wise lr scales and the no-decay rule included.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdamW, type AdamWParam } from "../../src/train/adamw.ts";
import { AdamWThread } from "../../src/train/adamw-thread-node.ts";
import { Rng } from "../../src/train/rng.ts";

/** Parameters on both sides of the split threshold (2^14 values), a bias without decay among them. */
function params(shared: boolean): AdamWParam[] {
  const rng = new Rng(11);
  const make = (name: string, dims: number[], lrScale?: number): AdamWParam => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal();
    return { name, data, dims, lrScale };
  };
  return [
    make("stages.0.blocks.0.mlp.fc1.weight", [160, 401], 0.5),
    make("stages.0.blocks.0.mlp.fc1.bias", [160]),
    make("head.fc.weight", [10, 40000]),
    make("head.norm.weight", [40]),
  ];
}

test("stepWithHelper on a worker thread equals step on one thread, bit for bit", async () => {
  const plain = params(false);
  const shared = params(true);
  const one = new AdamW(plain, { weightDecay: 0.05 });
  const two = new AdamW(shared, { weightDecay: 0.05 }, { shared: true });
  const helper = AdamWThread.start(two.sharedArrays());
  try {
    const rng = new Rng(12);
    for (let step = 0; step < 3; step++) {
      const grads = new Map(
        plain.map((p) => [p.name, Float32Array.from({ length: p.data.length }, () => rng.normal())]),
      );
      one.step(grads, 1e-3 * (step + 1));
      await two.stepWithHelper(grads, 1e-3 * (step + 1), helper);
    }
    for (const [i, p] of plain.entries()) {
      assert.deepEqual(shared[i].data, p.data, `${p.name} differs`);
      const [a, b] = [one.getState().params[p.name], two.getState().params[p.name]];
      assert.deepEqual(b.m, a.m, `${p.name}: first moment differs`);
      assert.deepEqual(b.v, a.v, `${p.name}: second moment differs`);
      assert.equal(b.step, 3);
    }
    // The update moved every parameter (the helper's half too: a skipped job would leave it as it was).
    const before = params(true);
    for (const [i, p] of shared.entries())
      assert.ok(
        p.data.subarray(0, 4).some((v, j) => v !== before[i].data[j]),
        `${p.name} did not move`,
      );
  } finally {
    await helper.release();
  }
});

test("a helper refuses parameters outside shared memory, and a released one rejects", async () => {
  assert.throws(() => new AdamW(params(false), {}, { shared: true }).sharedArrays(), /not in shared memory/);
  const two = new AdamW(params(true), {}, { shared: true });
  const helper = AdamWThread.start(two.sharedArrays());
  await helper.release();
  const grads = new Map(params(false).map((p) => [p.name, new Float32Array(p.data.length)]));
  await assert.rejects(two.stepWithHelper(grads, 1e-3, helper), /released/);
});
