import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { AdamW, adamwStateFromTensors, adamwStateToTensors, type FloatArray } from "../../src/train/adamw.ts";
import { fixture } from "../fixtures.ts";

const manifest = JSON.parse(readFileSync(fixture("grad", "manifest.json"), "utf8"));
const opt = manifest.optimizer;

function load(name: string): Map<string, HostTensor> {
  return parseSafetensors(new Uint8Array(readFileSync(fixture("grad", `${name}.safetensors`))), name).tensors;
}

/** Fresh parameters in the requested precision (the float64 run upcast the same float32 init). */
function params(f64: boolean): Map<string, { data: FloatArray; dims: number[] }> {
  const out = new Map<string, { data: FloatArray; dims: number[] }>();
  for (const [name, t] of load("params_init")) {
    const src = t.data as Float32Array;
    out.set(name, { data: f64 ? Float64Array.from(src) : Float32Array.from(src), dims: t.dims });
  }
  return out;
}

function grads(file: string): Record<string, FloatArray> {
  return Object.fromEntries([...load(file)].map(([k, t]) => [k, t.data as FloatArray]));
}

function maxDiff(
  p: Map<string, { data: FloatArray }>,
  expected: Map<string, HostTensor>,
): { max: number; worst: string } {
  let max = 0;
  let worst = "";
  assert.equal(p.size, expected.size);
  for (const [name, t] of expected) {
    const a = (p.get(name) as { data: FloatArray }).data;
    const b = t.data as FloatArray;
    assert.equal(a.length, b.length, name);
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      assert.ok(!Number.isNaN(a[i]), `${name}[${i}] is NaN`);
      if (d > max) {
        max = d;
        worst = `${name}[${i}]`;
      }
    }
  }
  return { max, worst };
}

function makeOptimizer(p: Map<string, { data: FloatArray; dims: number[] }>): AdamW {
  // decay flags from the library rule; checked against the manifest's lists below
  return new AdamW(
    [...p].map(([name, { data, dims }]) => ({ name, data, dims })),
    { betas: opt.betas, eps: opt.eps, weightDecay: opt.weight_decay },
  );
}

test("manifest: step files were made with the hard+LS gradients", () => {
  assert.match(opt.steps, /adamw_step1 = params after one step from params_init with grads_hard_ls/);
});

test("AdamW step 1 matches torch: float64 to 1e-10, float32 to 1e-6", () => {
  for (const [suffix, tol] of [
    ["f64", 1e-10],
    ["f32", 1e-6],
  ] as const) {
    const p = params(suffix === "f64");
    const adam = makeOptimizer(p);
    adam.step(grads(`grads_hard_ls_${suffix}`), opt.lr);
    const { max, worst } = maxDiff(p, load(`adamw_step1_${suffix}`));
    console.log(`step1 ${suffix}: max |diff| ${max.toExponential(2)} at ${worst}`);
    assert.ok(max <= tol, `step 1 ${suffix}: ${max} at ${worst}`);
  }
});

test("exact-zero gradients move by weight decay only (no NaN from 0/0)", () => {
  const p = params(true);
  const before = Float64Array.from((p.get("stages.3.blocks.0.conv_dw.weight") as { data: FloatArray }).data);
  const g = grads("grads_hard_ls_f64");
  makeOptimizer(p).step(g, opt.lr);
  const after = (p.get("stages.3.blocks.0.conv_dw.weight") as { data: FloatArray }).data;
  const gw = g["stages.3.blocks.0.conv_dw.weight"];
  let zeros = 0;
  for (let i = 0; i < gw.length; i++) {
    if (gw[i] !== 0) continue;
    zeros++;
    assert.equal(after[i], before[i] * (1 - opt.lr * opt.weight_decay));
  }
  assert.equal(zeros, manifest.checks.exact_zero_grad_entries["stages.3.blocks.0.conv_dw.weight"]);
});

test("decay flags agree with the manifest's decay / no-decay lists", () => {
  const decay: string[] = opt.decay_params;
  const noDecay: string[] = opt.no_decay_params;
  const p = params(false);
  const lr = 1e-3;
  const wd = 0.5;
  // with zero gradients the only change is decoupled decay
  const adam = new AdamW(
    [...p].map(([name, { data, dims }]) => ({ name, data, dims })),
    { weightDecay: wd },
  );
  const before = new Map([...p].map(([k, v]) => [k, Float32Array.from(v.data)]));
  adam.step(Object.fromEntries([...p].map(([k, v]) => [k, new Float32Array(v.data.length)])), lr);
  for (const [name, { data }] of p) {
    const moved = data.some((v, i) => v !== (before.get(name) as Float32Array)[i]);
    if (decay.includes(name)) assert.ok(moved, `${name} should decay`);
    else assert.ok(noDecay.includes(name) && !moved, `${name} should not decay`);
  }
});

test("AdamW step 2 continues from the saved state exactly", () => {
  // Step 2's gradients (at the step-1 parameters) are not stored, so step 2 itself is checked where the
  // training graph produces them; here: state round trip through tensors, then an identical second step.
  const g = grads("grads_hard_ls_f32");
  const pa = params(false);
  const a = makeOptimizer(pa);
  a.step(g, opt.lr);
  const saved = adamwStateToTensors(a.getState());
  const copied = Object.fromEntries(
    Object.entries(saved).map(([k, t]) => [k, { ...t, data: (t.data as Float32Array).slice() }]),
  );
  const pb = new Map([...pa].map(([k, v]) => [k, { data: Float32Array.from(v.data), dims: v.dims }]));
  const b = makeOptimizer(pb);
  b.setState(adamwStateFromTensors(copied, [...pb.keys()]));
  a.step(g, opt.lr);
  b.step(g, opt.lr);
  for (const [name, { data }] of pa)
    assert.deepEqual((pb.get(name) as { data: FloatArray }).data, data, name);
  assert.equal(b.getState().params["head.fc.weight"].step, 2);
});

test("lr scale multiplies the step and the decay", () => {
  const p = new Float64Array([1, -2]);
  const q = new Float64Array([1, -2]);
  const g = new Float64Array([0.3, 0]);
  new AdamW([{ name: "w", data: p, dims: [1, 2], lrScale: 0.5 }], { weightDecay: 0.1 }).step({ w: g }, 0.01);
  new AdamW([{ name: "w", data: q, dims: [1, 2] }], { weightDecay: 0.1 }).step({ w: g }, 0.005);
  assert.deepEqual(p, q);
  assert.throws(
    () => new AdamW([{ name: "w", data: p, dims: [2] }]).step({}, 0.1),
    /no gradient for parameter w/,
  );
});

test("a missing or misshapen gradient leaves every parameter and step count as it was", () => {
  const a = new Float32Array([1, 2]);
  const b = new Float32Array([3, 4, 5]);
  const opt = new AdamW([
    { name: "a", data: a, dims: [1, 2] },
    { name: "b", data: b, dims: [1, 3] },
  ]);
  assert.throws(() => opt.step({ a: new Float32Array([0.1, 0.2]) }, 0.1), /no gradient for parameter b/);
  assert.throws(
    () => opt.step({ a: new Float32Array([0.1, 0.2]), b: new Float32Array(2) }, 0.1),
    /gradient of b has 2 values, parameter has 3/,
  );
  assert.deepEqual([...a], [1, 2]);
  assert.deepEqual(
    Object.values(opt.getState().params).map((s) => s.step),
    [0, 0],
  );
});
