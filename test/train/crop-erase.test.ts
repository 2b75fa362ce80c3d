import assert from "node:assert/strict";
import { test } from "node:test";
import { toNormalizedChw } from "../../src/train/augment/image.ts";
import { centerPadCrop, padCropFlip } from "../../src/train/augment/pad-crop-flip.ts";
import { randomErasing } from "../../src/train/augment/random-erasing.ts";
import {
  randomResizedCrop,
  randomResizedCropParams,
  roundHalfEven,
} from "../../src/train/augment/random-resized-crop.ts";
import { resizeBox } from "../../src/train/augment/resize.ts";
import { applySampleTransform, recipeTrainTransform } from "../../src/train/augment/sample-transform.ts";
import { Rng } from "../../src/train/rng.ts";

test("Python rounding: half to even", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
});

test("RandomResizedCrop params stay inside the image, inside scale and ratio, else center fallback", () => {
  const r = new Rng(1);
  let fitted = 0;
  for (let t = 0; t < 3000; t++) {
    const W = 20 + r.int(600);
    const H = 20 + r.int(600);
    const p = randomResizedCropParams(W, H, r);
    assert.ok(
      p.left >= 0 &&
        p.top >= 0 &&
        p.left + p.width <= W &&
        p.top + p.height <= H &&
        p.width > 0 &&
        p.height > 0,
    );
    const fallbackW = W / H < 3 / 4 ? W : W / H > 4 / 3 ? roundHalfEven(H * (4 / 3)) : W;
    const fallbackH = W / H < 3 / 4 ? roundHalfEven(W / (3 / 4)) : H;
    const isFallback =
      p.width === fallbackW &&
      p.height === fallbackH &&
      p.left === Math.floor((W - fallbackW) / 2) &&
      p.top === Math.floor((H - fallbackH) / 2);
    if (isFallback) continue;
    fitted++;
    // rounding the sides to whole pixels moves area and ratio a little
    const area = (p.width * p.height) / (W * H);
    const slack = (p.width + p.height + 1) / (W * H);
    assert.ok(area >= 0.08 - slack && area <= 1 + slack, `area ${area}`);
    const ratio = p.width / p.height;
    assert.ok(
      ratio >= (3 / 4) * (1 - 1 / p.height) - 1 / p.height &&
        ratio <= (4 / 3) * (1 + 1 / p.height) + 1 / p.height,
      `ratio ${ratio}`,
    );
  }
  assert.ok(fitted > 2500);
  // a 1000x10 strip never fits: center crop with the ratio clamped to 4/3
  assert.deepEqual(randomResizedCropParams(1000, 10, new Rng(2)), {
    top: 0,
    left: Math.floor((1000 - 13) / 2),
    height: 10,
    width: 13,
  });
  assert.deepEqual(randomResizedCropParams(10, 1000, new Rng(2)), {
    top: Math.floor((1000 - 13) / 2),
    left: 0,
    height: 13,
    width: 10,
  });
});

test("resize: identity at the same size, constant stays constant, antialiased downscale averages", () => {
  const w = 12;
  const h = 9;
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
  const img = { data, width: w, height: h };
  assert.deepEqual(resizeBox(img, w, h, "bilinear").data, data);
  assert.deepEqual(resizeBox(img, w, h, "bicubic").data, data);
  const flat = { data: new Uint8Array(50 * 40 * 3).fill(77), width: 50, height: 40 };
  assert.ok(resizeBox(flat, 13, 7, "bicubic").data.every((v) => v === 77));
  const checker = {
    data: new Uint8Array(64 * 64).map((_, i) => (((i % 64) + Math.floor(i / 64)) % 2 ? 255 : 0)),
    width: 64,
    height: 64,
  };
  const small = resizeBox(checker, 8, 8, "bilinear").data;
  assert.ok(
    small.every((v) => Math.abs(v - 127.5) <= 1),
    "a fine checkerboard averages to grey instead of aliasing",
  );
  assert.throws(() => resizeBox(img, 4, 4, "bilinear", { x: 5, y: 0, width: 10, height: 4 }), /not inside/);
});

test("randomResizedCrop output size and determinism", () => {
  const img = { data: new Uint8Array(90 * 60 * 3).map((_, i) => i % 251), width: 90, height: 60 };
  const a = randomResizedCrop(img, new Rng(3), { size: 32 });
  assert.equal(a.width, 32);
  assert.equal(a.data.length, 32 * 32 * 3);
  assert.deepEqual(randomResizedCrop(img, new Rng(3), { size: 32 }).data, a.data);
});

test("random erasing: probability 0.25, box strictly inside, area fraction within (0.02, 1/3) up to rounding", () => {
  const C = 3;
  const H = 40;
  const W = 48;
  const r = new Rng(9);
  let erased = 0;
  const trials = 4000;
  for (let t = 0; t < trials; t++) {
    const x = new Float32Array(C * H * W).fill(100);
    const boxes = randomErasing(x, C, H, W, r);
    if (boxes.length === 0) {
      assert.ok(x.every((v) => v === 100));
      continue;
    }
    erased++;
    const b = boxes[0];
    assert.ok(b.height < H && b.width < W && b.top + b.height <= H && b.left + b.width <= W);
    const frac = (b.height * b.width) / (H * W);
    const slack = (b.height + b.width + 1) / (H * W);
    assert.ok(frac >= 0.02 - slack && frac <= 1 / 3 + slack, `fraction ${frac}`);
    const changed = x.reduce((n, v) => n + (v !== 100 ? 1 : 0), 0);
    assert.equal(changed, C * b.height * b.width, "per-pixel noise fills exactly the box in every channel");
  }
  assert.ok(Math.abs(erased / trials - 0.25) < 0.025, `erased ${erased / trials}`);
});

test("pad-crop-flip: a shifted copy with zero padding; the centre crop without padding is the image", () => {
  const img = { data: new Uint8Array(28 * 28).map((_, i) => 1 + (i % 250)), width: 28, height: 28 };
  const r = new Rng(4);
  let flips = 0;
  for (let t = 0; t < 200; t++) {
    const out = padCropFlip(img, r, { size: 32, pad: 4 });
    assert.equal(out.data.length, 32 * 32);
    // the 28x28 picture (all non-zero) is inside: exactly 28*28 non-zero pixels
    assert.equal(
      out.data.reduce((n, v) => n + (v ? 1 : 0), 0),
      28 * 28,
    );
    const firstRow = Array.from(out.data).findIndex((v) => v !== 0);
    const row = Math.floor(firstRow / 32);
    const line = Array.from(out.data.subarray(row * 32, row * 32 + 32)).filter((v) => v !== 0);
    const src = Array.from(img.data.subarray(0, 28));
    if (line[0] !== src[0]) {
      flips++;
      assert.deepEqual(line, src.reverse());
    } else assert.deepEqual(line, src);
  }
  assert.ok(flips > 60 && flips < 140);
  assert.deepEqual(centerPadCrop(img, 28, 0).data, img.data);
  // A 28×28 image under a 40px crop padded by 4 (a folder whose first image was larger) is padded further:
  // the whole image lands inside the crop, every pixel once, never cut.
  for (let i = 0; i < 20; i++) {
    const big = padCropFlip(img, r, { size: 40, pad: 4, hflip: 0 });
    assert.equal(big.width, 40);
    const sum = (a: Uint8Array) => a.reduce((n, v) => n + v, 0);
    assert.equal(sum(big.data), sum(img.data));
  }
});

test("normalisation follows ToTensor + Normalize in float32; recipe transform gives a finite 3x64x64 sample", () => {
  const img = { data: Uint8Array.of(0, 128, 255, 10, 20, 30), width: 2, height: 1 };
  const out = new Float32Array(6);
  toNormalizedChw(img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], out);
  const f = Math.fround;
  assert.equal(out[0], f(f(f(0 / 255) - f(0.485)) / f(0.229)));
  assert.equal(out[2], f(f(f(128 / 255) - f(0.456)) / f(0.224))); // CHW: channel 1, pixel 0
  assert.equal(out[5], f(f(f(30 / 255) - f(0.406)) / f(0.225)));
  const photo = { data: new Uint8Array(120 * 90 * 3).map((_, i) => (i * 7) % 256), width: 120, height: 90 };
  const t = recipeTrainTransform(64);
  const a = new Float32Array(3 * 64 * 64);
  const b = new Float32Array(3 * 64 * 64);
  applySampleTransform(photo, t, new Rng(1), a);
  applySampleTransform(photo, t, new Rng(1), b);
  assert.deepEqual(a, b);
  assert.ok(a.every(Number.isFinite));
  const gray = new Float32Array(3 * 32 * 32);
  applySampleTransform(
    { data: new Uint8Array(28 * 28).fill(255), width: 28, height: 28 },
    { kind: "center-pad-crop", size: 32, pad: 2, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    new Rng(0),
    gray,
  );
  assert.equal(gray[0], -1, "padding is black");
  assert.equal(gray[2 * 32 + 2], 1, "a gray image is repeated over 3 channels");
  assert.equal(gray[2 * 32 * 32 + 2 * 32 + 2], 1);
});
