// BatchNorm (training composite, inference op and its rule, folding) and the MaxPool gradient rule:
// random-direction finite differences (float32 in onnxruntime, central differences summed in float64),
// plus the running-statistics update against a float64 host computation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CheckCase, checkGradient } from "../../src/autodiff/check.ts";
import { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import {
  batchNormInference,
  batchNormOps,
  batchNormTraining,
  foldBatchNorm,
} from "../../src/ops/batchnorm.ts";
import { registerOps } from "../../src/ops/index.ts";
import { maxPool, poolOps } from "../../src/ops/pool.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type Float32Tensor, numel } from "../../src/tensor/host-tensor.ts";

registerOps({ ...batchNormOps, ...poolOps });

const makeSession = (b: Uint8Array) => createSession(b, { threads: 1 });

/** Deterministic values: a small LCG, uniform in [lo, hi). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}
const tensor = (dims: number[], seed: number, lo = -1, hi = 1) =>
  float32(dims, values(numel(dims), seed, lo, hi));

/** Per-channel buffers as constants, so the check differentiates only x, scale and bias. */
function buffers(g: Graph, c: number) {
  return {
    mean: g.initializer("mean", tensor([c], 7, -0.5, 0.5)),
    var: g.initializer("var", tensor([c], 8, 0.5, 2)),
  };
}

const CASES: [string, CheckCase][] = [
  [
    "training mode, NCHW (batch statistics)",
    {
      inputs: [
        { name: "x", dims: [3, 4, 5, 5] },
        { name: "scale", dims: [4] },
        { name: "bias", dims: [4] },
      ],
      build: (g, [x, scale, bias]) => batchNormTraining(g, x, { scale, bias, ...buffers(g, 4) }, 1e-5, 0.1).y,
      eps: 3e-3,
    },
  ],
  [
    "training mode, [N, C] after pooling",
    {
      inputs: [
        { name: "x", dims: [6, 5] },
        { name: "scale", dims: [5] },
        { name: "bias", dims: [5] },
      ],
      build: (g, [x, scale, bias]) => batchNormTraining(g, x, { scale, bias, ...buffers(g, 5) }, 1e-5, 0.1).y,
      eps: 3e-3,
    },
  ],
  [
    "inference op with frozen statistics",
    {
      inputs: [
        { name: "x", dims: [2, 4, 3, 3] },
        { name: "scale", dims: [4] },
        { name: "bias", dims: [4] },
      ],
      build: (g, [x, scale, bias]) => batchNormInference(g, x, { scale, bias, ...buffers(g, 4) }, 1e-5),
    },
  ],
];

for (const [label, c] of CASES) {
  test(`BatchNorm gradient, ${label}, matches finite differences`, async () => {
    const r = await checkGradient(c, makeSession);
    assert.ok(r.relError < 1e-3, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError})`);
  });
}

// Max pooling has a kink wherever two window entries tie. Distinct offsets 0.5 apart (a shuffled ramp) fix
// every window's winner for steps far below 0.5, so the check sees one linear piece; the winners still vary
// across the overlapping 3×3/2 windows, which share rows and columns.
for (const withIndices of [true, false]) {
  test(`MaxPool 3×3/2 pad 1 gradient (${withIndices ? "forward Indices" : "recomputed argmax"}) matches finite differences`, async () => {
    const dims = [2, 3, 9, 9];
    const order = Array.from(values(numel(dims), 3)).map((v, i) => [v, i]);
    order.sort((a, b) => a[0] - b[0]);
    const ramp = new Float32Array(numel(dims));
    order.forEach(([, i], rank) => {
      ramp[i] = 0.5 * rank;
    });
    const r = await checkGradient(
      {
        inputs: [{ name: "x", dims }],
        build: (g, [x]) => {
          const shifted = g.op("Add", [x, g.initializer("ramp", float32(dims, ramp))]);
          return maxPool(g, shifted, { kernel: 3, stride: 2, pad: 1 }, withIndices);
        },
        eps: 1e-2,
      },
      makeSession,
    );
    assert.ok(r.relError < 1e-3, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError})`);
  });
}

test("MaxPool gradient sums where overlapping windows pick the same input", async () => {
  // A 5×5 map with one dominant centre: all four 3×3/2 windows choose it, so it gets 4× the gradient.
  const g = new Graph();
  const x = g.input("x", "float32", [1, 1, 5, 5]);
  const y = maxPool(g, x, { kernel: 3, stride: 2, pad: 0 }, true);
  const dy = g.input("dy", "float32", [1, 1, 2, 2]);
  const node = g.nodes.find((n) => n.outputs[0] === y)!;
  const [dx] = poolOps.MaxPool.grad(g, node, [dy]);
  g.output(dx!);
  const s = await makeSession(toOnnxBytes(g));
  const xs = new Float32Array(25);
  xs[12] = 5;
  const out = await s.run({ x: float32([1, 1, 5, 5], xs), dy: float32([1, 1, 2, 2], [1, 2, 3, 4]) });
  await s.release();
  const want = new Float32Array(25);
  want[12] = 10;
  assert.deepEqual(Array.from(out[dx!].data as Float32Array), Array.from(want));
});

test("training-mode BatchNorm: biased variance in the output, unbiased in the running update", async () => {
  const [n, c, h, w] = [2, 3, 4, 5];
  const g = new Graph();
  const x = g.input("x", "float32", [n, c, h, w]);
  const v = {
    scale: g.initializer("scale", tensor([c], 11, 0.5, 1.5)),
    bias: g.initializer("bias", tensor([c], 12)),
    mean: g.initializer("mean", tensor([c], 13)),
    var: g.initializer("var", tensor([c], 14, 0.5, 2)),
  };
  const r = batchNormTraining(g, x, v, 1e-5, 0.1);
  for (const o of [r.y, r.runningMean, r.runningVar]) g.output(o);
  const xt = tensor([n, c, h, w], 15, -2, 3);
  const s = await makeSession(toOnnxBytes(g));
  const out = await s.run({ x: xt });
  await s.release();
  const per = n * h * w;
  const at = (i: number, ch: number, j: number) => xt.data[(i * c + ch) * h * w + j];
  const init = (name: string) => (g.initializers.get(name) as Float32Tensor).data;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < h * w; j++) sum += at(i, ch, j);
    const mean = sum / per;
    let sq = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < h * w; j++) sq += (at(i, ch, j) - mean) ** 2;
    const biased = sq / per;
    const y0 = ((at(0, ch, 0) - mean) / Math.sqrt(biased + 1e-5)) * init("scale")[ch] + init("bias")[ch];
    assert.ok(Math.abs((out[r.y].data as Float32Array)[ch * h * w] - y0) < 1e-5, `y, channel ${ch}`);
    const rm = 0.9 * init("mean")[ch] + 0.1 * mean;
    const rv = 0.9 * init("var")[ch] + 0.1 * (sq / (per - 1));
    assert.ok(Math.abs((out[r.runningMean].data as Float32Array)[ch] - rm) < 1e-6, `running mean ${ch}`);
    assert.ok(Math.abs((out[r.runningVar].data as Float32Array)[ch] - rv) < 1e-6, `running var ${ch}`);
  }
});

test("foldBatchNorm: conv → BatchNorm equals the folded conv", async () => {
  const wDims = [4, 3, 3, 3];
  const build = (folded: boolean) => {
    const g = new Graph();
    const x = g.input("x", "float32", [2, 3, 6, 6]);
    const attrs = { pads: [1, 1, 1, 1] };
    const weight = tensor(wDims, 21);
    const bn = {
      scale: tensor([4], 22, 0.5, 1.5),
      bias: tensor([4], 23),
      mean: tensor([4], 24),
      var: tensor([4], 25, 0.2, 3),
    };
    if (folded) {
      const f = foldBatchNorm(weight, undefined, bn, 1e-5);
      g.output(g.op("Conv", [x, g.initializer("w", f.weight), g.initializer("b", f.bias)], attrs));
    } else {
      const y = g.op("Conv", [x, g.initializer("w", weight)], attrs);
      const names = {
        scale: g.initializer("s", bn.scale),
        bias: g.initializer("b", bn.bias),
        mean: g.initializer("m", bn.mean),
        var: g.initializer("v", bn.var),
      };
      g.output(batchNormInference(g, y, names, 1e-5));
    }
    return g;
  };
  const x = tensor([2, 3, 6, 6], 26, -2, 2);
  const run = async (g: Graph) => {
    // ORT would fuse the unfolded pair itself; with optimisation off the reference really runs BatchNorm.
    const s = await createSession(toOnnxBytes(g), { threads: 1, optimization: "disabled" });
    const out = Object.values(await s.run({ x }))[0].data as Float32Array;
    await s.release();
    return out;
  };
  const a = await run(build(false));
  const b = await run(build(true));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst < 1e-5, `max |diff| ${worst}`);
  assert.throws(
    () =>
      foldBatchNorm(
        tensor(wDims, 1),
        undefined,
        { scale: tensor([3], 1), bias: tensor([4], 1), mean: tensor([4], 1), var: tensor([4], 1) },
        1e-5,
      ),
    /scale has shape \[3\], the conv weight \[4,3,3,3\]/,
  );
});
