import assert from "node:assert/strict";
import { test } from "node:test";
import { rotate, translateX } from "../../src/train/augment/affine.ts";
import {
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  invert,
  posterize,
  sharpness,
  solarize,
  solarizeAdd,
} from "../../src/train/augment/color-ops.ts";
import type { RgbImage } from "../../src/train/augment/image.ts";
import {
  type AppliedOp,
  applyOp,
  IMAGENET_FILL,
  levelToArg,
  parseRandAugment,
  RAND_INCREASING_TRANSFORMS,
  randAugment,
} from "../../src/train/augment/rand-augment.ts";
import { Rng } from "../../src/train/rng.ts";

/** A deterministic RGB test card with every byte value present. */
function card(w = 24, h = 20): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = (x * 11 + y * 3) & 255;
      data[i + 1] = (y * 13 + x * x) & 255;
      data[i + 2] = (x * y * 7 + 40) & 255;
    }
  }
  return { data, width: w, height: h };
}

const img = card();

test("RandAugment spec: rand-m9-mstd0.5-inc1", () => {
  const cfg = parseRandAugment("rand-m9-mstd0.5-inc1");
  assert.equal(cfg.magnitude, 9);
  assert.equal(cfg.magnitudeStd, 0.5);
  assert.equal(cfg.numOps, 2);
  assert.equal(cfg.prob, 0.5);
  assert.deepEqual(cfg.ops, RAND_INCREASING_TRANSFORMS);
  assert.equal(cfg.ops.length, 15);
  assert.deepEqual(cfg.fill, IMAGENET_FILL);
  // round(255 * ImageNet mean) as timm computes img_mean
  assert.deepEqual(
    IMAGENET_FILL,
    [0.485, 0.456, 0.406].map((m) => Math.round(255 * m)),
  );
  assert.throws(() => parseRandAugment("rand-q3"), /unknown section "q"/);
  assert.throws(() => parseRandAugment("augmix-m3"), /must start with "rand"/);
});

test("pixel ops match their definitions", () => {
  const d = img.data;
  assert.deepEqual(
    invert(img).data,
    d.map((v) => 255 - v),
  );
  for (const bits of [0, 1, 2, 4, 7]) {
    const out = posterize(img, bits).data;
    out.forEach((v, i) => {
      assert.equal(v % 2 ** (8 - bits), 0);
      assert.ok(d[i] - v >= 0 && d[i] - v < 2 ** (8 - bits));
    });
  }
  assert.equal(posterize(img, 8), img);
  for (const t of [0, 26, 128, 256])
    assert.deepEqual(
      solarize(img, t).data,
      d.map((v) => (v < t ? v : 255 - v)),
    );
  assert.deepEqual(
    solarizeAdd(img, 99).data,
    d.map((v) => (v < 128 ? Math.min(255, v + 99) : v)),
  );

  for (const f of [color, contrast, brightness, sharpness])
    assert.deepEqual(f(img, 1).data, d, `${f.name}(1) is the identity`);
  assert.ok(brightness(img, 0).data.every((v) => v === 0));
  assert.deepEqual(
    brightness(img, 1.5).data,
    d.map((v) => Math.min(255, Math.trunc(v * 1.5))),
  );
  const gray = color(img, 0).data;
  for (let i = 0; i < d.length; i += 3) {
    const l = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    assert.ok(Math.abs(gray[i] - l) <= 1 && gray[i] === gray[i + 1] && gray[i] === gray[i + 2]);
  }
  const flat = contrast(img, 0).data;
  assert.ok(flat.every((v) => v === flat[0]));
  let mean = 0;
  for (let i = 0; i < d.length; i += 3) mean += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  assert.ok(Math.abs(flat[0] - mean / (d.length / 3)) <= 1);
  // sharpness 0 = PIL's SMOOTH filter inside, border untouched
  const smooth = sharpness(img, 0).data;
  const w = img.width;
  for (let k = 0; k < 3; k++) {
    const at = (x: number, y: number) => d[(y * w + x) * 3 + k];
    const sum =
      at(4, 4) * 5 + at(3, 3) + at(4, 3) + at(5, 3) + at(3, 4) + at(5, 4) + at(3, 5) + at(4, 5) + at(5, 5);
    assert.ok(Math.abs(smooth[(4 * w + 4) * 3 + k] - sum / 13) <= 1);
    assert.equal(smooth[k], d[k]);
  }
});

test("autocontrast stretches each channel to 0..255; equalize flattens the histogram", () => {
  const narrow = { ...img, data: img.data.map((v) => 100 + (v % 40)) };
  const ac = autoContrast(narrow).data;
  for (let k = 0; k < 3; k++) {
    const ch = ac.filter((_, i) => i % 3 === k);
    assert.equal(Math.min(...ch), 0);
    assert.equal(Math.max(...ch), 255);
  }
  narrow.data.forEach((v, i) => {
    const j = (i + 3) % narrow.data.length;
    if (narrow.data[j] > v) assert.ok(ac[j] >= ac[i], "monotone");
  });
  assert.deepEqual(
    autoContrast({ ...img, data: new Uint8Array(img.data.length).fill(7) }).data,
    new Uint8Array(img.data.length).fill(7),
  );
  // equalize: a channel using 40 values evenly spreads them over the range
  const eq = equalize(narrow).data;
  const red = eq.filter((_, i) => i % 3 === 0);
  assert.ok(
    Math.min(...red) <= 10 && Math.max(...red) >= 240,
    `equalized red spans ${Math.min(...red)}..${Math.max(...red)}`,
  );
});

test("geometric ops: rotate 90 is an exact pixel permutation, translation fills with the mean colour", () => {
  const sq = card(16, 16);
  const r = rotate(sq, 90, IMAGENET_FILL).data;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      for (let k = 0; k < 3; k++) assert.equal(r[(y * 16 + x) * 3 + k], sq.data[(x * 16 + (15 - y)) * 3 + k]);
    }
  }
  assert.deepEqual(rotate(img, 0, IMAGENET_FILL).data, img.data);
  const t = translateX(img, 5, IMAGENET_FILL).data;
  const w = img.width;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++) {
        const expected = x + 5 < w ? img.data[(y * w + x + 5) * 3 + k] : IMAGENET_FILL[k];
        assert.equal(t[(y * w + x) * 3 + k], expected);
      }
    }
  }
  // TranslateXRel takes a fraction of the width
  assert.deepEqual(
    applyOp(img, "TranslateXRel", 5 / w, { fill: IMAGENET_FILL, resample: "bilinear" }).data,
    t,
  );
  const sheared = applyOp(img, "ShearX", 0.3, { fill: IMAGENET_FILL, resample: "nearest" }).data;
  assert.deepEqual(sheared.subarray(0, 3), img.data.subarray(0, 3)); // row 0 barely moves (0.15 px)
  assert.deepEqual(Array.from(sheared.subarray(((img.height - 1) * w + w - 1) * 3, img.height * w * 3)), [
    ...IMAGENET_FILL,
  ]);
});

test("level → argument at magnitude 9 (timm's increasing ops)", () => {
  const r = new Rng(0);
  assert.equal(levelToArg("PosterizeIncreasing", 9, r), 4 - Math.trunc(3.6));
  assert.equal(levelToArg("SolarizeIncreasing", 9, r), 256 - Math.trunc(0.9 * 256));
  assert.equal(levelToArg("SolarizeAdd", 9, r), Math.trunc(0.9 * 110));
  const signs = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const rot = levelToArg("Rotate", 9, r);
    assert.ok(Math.abs(Math.abs(rot) - 27) < 1e-12);
    signs.add(Math.sign(rot));
    const e = levelToArg("ContrastIncreasing", 9, r);
    assert.ok(Math.abs(e - 1.81) < 1e-12 || Math.abs(e - 0.19) < 1e-12, `enhance factor ${e}`);
    assert.ok(Math.abs(Math.abs(levelToArg("ShearY", 9, r)) - 0.27) < 1e-12);
    assert.ok(Math.abs(Math.abs(levelToArg("TranslateYRel", 9, r)) - 0.405) < 1e-12);
  }
  assert.deepEqual([...signs].sort(), [-1, 1]);
});

test("RandAugment is deterministic per seed; ops uniform, half applied, magnitudes in range", () => {
  const cfg = parseRandAugment("rand-m9-mstd0.5-inc1");
  const trace1: AppliedOp[] = [];
  const trace2: AppliedOp[] = [];
  assert.deepEqual(
    randAugment(img, new Rng(5), cfg, trace1).data,
    randAugment(img, new Rng(5), cfg, trace2).data,
  );
  assert.deepEqual(trace1, trace2);
  const counts = new Map<string, number>();
  let applied = 0;
  let total = 0;
  let differs = 0;
  const small = card(8, 8);
  for (let s = 0; s < 3000; s++) {
    const trace: AppliedOp[] = [];
    const out = randAugment(small, new Rng(100 + s), cfg, trace);
    if (out.data.some((v, i) => v !== small.data[i])) differs++;
    assert.equal(trace.length, 2);
    for (const t of trace) {
      total++;
      counts.set(t.op, (counts.get(t.op) ?? 0) + 1);
      if (t.arg !== null) applied++;
      if (t.op === "PosterizeIncreasing" && t.arg !== null)
        assert.ok([0, 1, 2].includes(t.arg), `posterize bits ${t.arg}`);
    }
  }
  assert.equal(counts.size, 15);
  for (const n of counts.values()) assert.ok(Math.abs(n / total - 1 / 15) < 0.015);
  assert.ok(Math.abs(applied / total - 0.5) < 0.03);
  assert.ok(differs > 0.6 * 3000, "most images change");
});
