import assert from "node:assert/strict";
import { test } from "node:test";
import { Ema } from "../../src/train/ema.ts";

test("EMA follows ema = d*ema + (1-d)*p per update and resumes from its state", () => {
  const p = { w: new Float32Array([1, 2, 3]), b: new Float32Array([0.5]) };
  const ema = new Ema(p, 0.9);
  p.w[0] = 10; // the EMA copied the values at construction
  assert.equal(ema.values.get("w")?.[0], 1);
  const ref = [1, 2, 3];
  for (let step = 0; step < 5; step++) {
    p.w.set([step, -step, 2 * step]);
    ema.update(p);
    for (let i = 0; i < 3; i++) ref[i] = 0.9 * ref[i] + 0.1 * p.w[i];
  }
  const w = ema.values.get("w") as Float32Array;
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(w[i] - ref[i]) < 1e-5, `w[${i}] ${w[i]} vs ${ref[i]}`);
  assert.equal(ema.updateCount, 5);

  const resumed = Ema.fromState(ema.getState());
  ema.update(p);
  resumed.update(p);
  assert.deepEqual(resumed.values.get("w"), ema.values.get("w"));
  assert.equal(resumed.updateCount, 6);
  assert.throws(() => ema.update({ w: p.w }), /model has no parameter b/);
});

test("default decay is the recipe's 0.9999", () => {
  const ema = new Ema({ w: new Float32Array([0]) });
  assert.equal(ema.decay, 0.9999);
  ema.update({ w: new Float32Array([1]) });
  assert.ok(Math.abs((ema.values.get("w") as Float32Array)[0] - 1e-4) < 1e-9);
});
