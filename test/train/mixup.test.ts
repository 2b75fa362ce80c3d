import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { boxLam, mixupBatch, mixupTarget, randBbox } from "../../src/train/augment/mixup.ts";
import { Rng } from "../../src/train/rng.ts";
import { fixture } from "../fixtures.ts";

const manifest = JSON.parse(readFileSync(fixture("grad", "manifest.json"), "utf8"));
const batch = parseSafetensors(
  new Uint8Array(readFileSync(fixture("grad", "batch.safetensors"))),
  "batch.safetensors",
).tensors;

function get(name: string) {
  const t = batch.get(name);
  assert.ok(t, `batch.safetensors has ${name}`);
  return t;
}

test("mixup_target reproduces the fixture's soft targets bit for bit (float32 and float64)", () => {
  const y = Array.from(get("y").data as BigInt64Array, Number);
  assert.deepEqual(y, manifest.batch.y);
  assert.deepEqual(Array.from(get("y_perm").data as BigInt64Array, Number), [...y].reverse());
  const numClasses = manifest.architecture.num_classes;
  // "timm mixup_target(y, 10, lam=0.7, smoothing=0.1)" / soft: lam 0.7 without smoothing
  const m = /mixup_target\(y, (\d+), lam=([\d.]+), smoothing=([\d.]+)\)/.exec(manifest.losses.soft_ls);
  assert.ok(m, "manifest states the mixup_target call");
  assert.equal(Number(m[1]), numClasses);
  const lam = Number(m[2]);
  const smoothing = Number(m[3]);
  const ls32 = mixupTarget(y, numClasses, lam, smoothing);
  assert.deepEqual(ls32, get("soft_target_ls").data);
  // the float64 smoothed file holds timm's float32 targets upcast (torch.full defaults to float32)
  assert.deepEqual(Float64Array.from(ls32), get("soft_target_ls_f64").data);
  const ls64 = mixupTarget(y, numClasses, lam, smoothing, new Float64Array(y.length * numClasses));
  for (let i = 0; i < ls64.length; i++) assert.ok(Math.abs(ls64[i] - ls32[i]) < 1e-7);
  assert.deepEqual(mixupTarget(y, numClasses, lam, 0), get("soft_target").data);
  assert.deepEqual(mixupTarget(y, numClasses, lam, 0, new Float64Array(40)), get("soft_target_f64").data);
  for (let i = 0; i < y.length; i++) {
    const row = ls64.subarray(i * numClasses, (i + 1) * numClasses);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-12, "rows sum to 1");
  }
});

test("cutmix box: inside the image, lam corrected to the pasted area", () => {
  const r = new Rng(11);
  for (let t = 0; t < 2000; t++) {
    const h = 1 + r.int(64);
    const w = 1 + r.int(64);
    const lam = r.beta(1, 1);
    const box = randBbox(h, w, lam, r);
    assert.ok(
      box.y0 >= 0 && box.y0 <= box.y1 && box.y1 <= h && box.x0 >= 0 && box.x0 <= box.x1 && box.x1 <= w,
    );
    // an unclipped box has sides at most floor(side * sqrt(1 - lam)), so its area fraction is at most 1 - lam
    const area = (box.y1 - box.y0) * (box.x1 - box.x0);
    assert.ok(area <= h * w * (1 - lam) + 1e-9);
    const corrected = boxLam(box, h, w);
    assert.equal(corrected, 1 - area / (h * w));
    assert.ok(corrected >= lam - 1e-12 && corrected <= 1);
  }
});

function syntheticBatch(n: number, c: number, h: number, w: number): Float32Array {
  const x = new Float32Array(n * c * h * w);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 0.37) * 2);
  return x;
}

test("mixupBatch: cutmix pastes the partner's box and its targets use the corrected lam", () => {
  const dims = [4, 3, 16, 16] as const;
  const labels = [1, 2, 3, 4];
  let sawCutmix = false;
  let sawMixup = false;
  for (let seed = 0; seed < 40; seed++) {
    const orig = syntheticBatch(...dims);
    const x = orig.slice();
    const res = mixupBatch(x, dims, labels, new Rng(seed), { numClasses: 5 });
    const plane = 16 * 16;
    const sample = 3 * plane;
    if (res.mode === "cutmix") {
      sawCutmix = true;
      const b = res.box as NonNullable<typeof res.box>;
      assert.equal(res.lam, boxLam(b, 16, 16));
      let pasted = 0;
      for (let i = 0; i < 4; i++) {
        for (let k = 0; k < sample; k++) {
          const y = Math.floor((k % plane) / 16);
          const xx = k % 16;
          const inBox = y >= b.y0 && y < b.y1 && xx >= b.x0 && xx < b.x1;
          const expected = inBox ? orig[(3 - i) * sample + k] : orig[i * sample + k];
          assert.equal(x[i * sample + k], expected);
          if (inBox) pasted++;
        }
      }
      assert.equal(pasted / (4 * sample), 1 - res.lam);
    } else if (res.mode === "mixup") {
      sawMixup = true;
      for (let k = 0; k < x.length; k++) {
        const partner = (3 - Math.floor(k / sample)) * sample + (k % sample);
        assert.ok(Math.abs(x[k] - (res.lam * orig[k] + (1 - res.lam) * orig[partner])) < 1e-6);
      }
    }
    assert.deepEqual(res.targets, mixupTarget(labels, 5, res.lam, 0.1));
  }
  assert.ok(sawCutmix && sawMixup, "both modes occur with switch prob 0.5");
  assert.throws(
    () => mixupBatch(new Float32Array(3 * 4), [3, 1, 2, 2], [0, 1, 2], new Rng(1), { numClasses: 3 }),
    /even/,
  );
});
