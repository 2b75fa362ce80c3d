import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { type ResampleFilter, resizePil } from "../../src/preprocess/resize-pil.ts";
import { fixture } from "../fixtures.ts";
import { compare, expectedU8, manifest } from "./expected.ts";

const images = Object.entries<any>(manifest.images).filter(([, f]) => f.decodable);

for (const [file, facts] of images) {
  test(`bicubic resize of ${file} to ${facts.resized_size_wh.join("x")} is bit-exact with Pillow`, async () => {
    const img = await decodeImage(fixture("preprocess", facts.file));
    const [w, h] = facts.resized_size_wh;
    const out = resizePil(img, w, h, "bicubic");
    const ref = expectedU8(`${file.replace(/\.[a-z]+$/, "")}.resized_uint8`);
    assert.deepEqual(ref.shape, [h, w, 3]);
    const { maxAbs, nDiff } = compare(out.data, ref.bytes);
    assert.equal(maxAbs, 0, `${nDiff} values differ`);
  });
}

/**
 * An independent, plain-float reading of the same algorithm (support widened by the scale, normalised
 * weights, horizontal then vertical pass, each rounded and clipped). Pillow's fixed-point arithmetic may differ
 * from it by one level on rare values, never more.
 */
function floatReference(
  src: Uint8Array,
  w: number,
  h: number,
  ow: number,
  oh: number,
  kernel: (x: number) => number,
  support: number,
) {
  const weights = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const fs = Math.max(scale, 1);
    return Array.from({ length: outSize }, (_, i) => {
      const center = (i + 0.5) * scale;
      const lo = Math.max(0, Math.trunc(center - support * fs + 0.5));
      const hi = Math.min(inSize, Math.trunc(center + support * fs + 0.5));
      const ws: number[] = [];
      for (let x = lo; x < hi; x++) ws.push(kernel((x - center + 0.5) / fs));
      const sum = ws.reduce((a, b) => a + b, 0);
      return { lo, ws: ws.map((v) => v / sum) };
    });
  };
  const clip = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  const wx = weights(w, ow);
  const wy = weights(h, oh);
  const tmp = new Float64Array(h * ow * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        wx[x].ws.forEach((k, j) => {
          s += k * src[(y * w + wx[x].lo + j) * 3 + c];
        });
        tmp[(y * ow + x) * 3 + c] = clip(s);
      }
  const out = new Uint8Array(oh * ow * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        wy[y].ws.forEach((k, j) => {
          s += k * tmp[((wy[y].lo + j) * ow + x) * 3 + c];
        });
        out[(y * ow + x) * 3 + c] = clip(s);
      }
  return out;
}

const kernels: Record<string, [(x: number) => number, number]> = {
  bilinear: [(x) => Math.max(0, 1 - Math.abs(x)), 1],
  bicubic: [
    (x) => {
      x = Math.abs(x);
      return x < 1 ? 1.5 * x ** 3 - 2.5 * x ** 2 + 1 : x < 2 ? -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2 : 0;
    },
    2,
  ],
  lanczos: [
    (x) => {
      const sinc = (t: number) => (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t));
      return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
    },
    3,
  ],
};

test("bilinear, bicubic and lanczos agree with a float reading of the algorithm within one level", async () => {
  const img = await decodeImage(fixture("preprocess", "images", "coffee.png"));
  // Sizes off simple ratios: on a 6/7 grid many sums land exactly on .5 and the two break ties differently.
  for (const [name, [kernel, support]] of Object.entries(kernels)) {
    for (const [ow, oh] of [
      [157, 101],
      [653, 437],
    ]) {
      const ours = resizePil(img, ow, oh, name as ResampleFilter).data;
      const ref = floatReference(img.data, img.width, img.height, ow, oh, kernel, support);
      const { maxAbs, nDiff } = compare(ours, ref);
      assert.ok(maxAbs <= 1, `${name} ${ow}x${oh}: max diff ${maxAbs}`);
      assert.ok(nDiff < ours.length * 0.001, `${name} ${ow}x${oh}: ${nDiff} values differ`);
    }
  }
});

test("a flat image stays flat under every filter (weights are normalised)", () => {
  const img = { width: 37, height: 23, data: new Uint8Array(37 * 23 * 3).fill(200) };
  for (const f of ["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"] as const) {
    const out = resizePil(img, 11, 50, f);
    assert.ok(
      out.data.every((v) => v === 200),
      f,
    );
  }
});

test("nearest picks the source pixel under each output pixel centre", () => {
  const img = { width: 4, height: 1, channels: 1, data: Uint8Array.from([10, 20, 30, 40]) };
  assert.deepEqual(Array.from(resizePil(img, 8, 1, "nearest").data), [10, 10, 20, 20, 30, 30, 40, 40]);
  assert.deepEqual(Array.from(resizePil(img, 2, 1, "nearest").data), [20, 40]);
});

test("same size is a copy, an integer box of the output size is a crop, a 1-D change runs one pass", () => {
  const data = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 7) % 256);
  const img = { width: 5, height: 4, data };
  const same = resizePil(img, 5, 4);
  assert.deepEqual(same.data, data);
  assert.notEqual(same.data, data);
  const cropped = resizePil(img, 2, 2, "bicubic", [1, 1, 3, 3]);
  assert.deepEqual(
    Array.from(cropped.data.subarray(0, 6)),
    Array.from(data.subarray((1 * 5 + 1) * 3, (1 * 5 + 3) * 3)),
  );
  // Only the height changes: every column resamples on its own, so a column-constant image keeps its rows.
  const cols = {
    width: 5,
    height: 4,
    data: Uint8Array.from({ length: 60 }, (_, i) => (Math.floor(i / 3) % 5) * 50),
  };
  const tall = resizePil(cols, 5, 9, "bicubic");
  for (let y = 0; y < 9; y++)
    assert.deepEqual(tall.data.subarray(y * 15, y * 15 + 15), cols.data.subarray(0, 15));
});

test("bad sizes and boxes get one-line errors", () => {
  const img = { width: 4, height: 4, data: new Uint8Array(48) };
  assert.throws(() => resizePil(img, 0, 3), /positive integers, got 0x3/);
  assert.throws(() => resizePil(img, 2, 2, "bicubic", [0, 0, 5, 4]), /exceed/);
  assert.throws(() => resizePil({ ...img, data: new Uint8Array(3) }, 2, 2), /needs 48 bytes, got 3/);
});
