/**
 * Resize a box of an 8-bit image for training augmentation: separable convolution with PIL's filter placement
 * and antialiasing (the kernel widens by the downscale factor), floats kept between the two passes and rounded
 * once at the end. Not bit-exact with PIL (the evaluation preprocessing has its own exact port); augmentation
 * does not need that, and random crops make a one-level difference irrelevant.
 */

import { channelsOf, type RgbImage } from "./image.ts";

export type ResizeFilter = "bilinear" | "bicubic";

/** Source box in pixels: left, top, width, height (may be fractional). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const SUPPORT: Record<ResizeFilter, number> = { bilinear: 1, bicubic: 2 };

function kernel(filter: ResizeFilter, x: number): number {
  const a = Math.abs(x);
  if (filter === "bilinear") return a < 1 ? 1 - a : 0;
  // PIL's bicubic: a = -0.5
  if (a < 1) return (1.5 * a - 2.5) * a * a + 1;
  if (a < 2) return ((-0.5 * a + 2.5) * a - 4) * a + 2;
  return 0;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  maxTaps: number;
}

/** Per output coordinate: first input index, number of taps and normalised weights. */
function taps(
  filter: ResizeFilter,
  inSize: number,
  boxStart: number,
  boxSize: number,
  outSize: number,
): Taps {
  const scale = boxSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT[filter] * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = boxStart + (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let sum = 0;
    const n = Math.min(hi - lo, maxTaps);
    for (let t = 0; t < n; t++) {
      const w = kernel(filter, (lo + t - center + 0.5) / filterScale);
      weights[o * maxTaps + t] = w;
      sum += w;
    }
    if (sum !== 0) for (let t = 0; t < n; t++) weights[o * maxTaps + t] /= sum;
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, maxTaps };
}

/** Resizes `box` of `img` (default: the whole image) to `outWidth`×`outHeight`. */
export function resizeBox(
  img: RgbImage,
  outWidth: number,
  outHeight: number,
  filter: ResizeFilter = "bilinear",
  box?: Box,
): RgbImage {
  const c = channelsOf(img);
  const b = box ?? { x: 0, y: 0, width: img.width, height: img.height };
  if (!(outWidth >= 1 && outHeight >= 1))
    throw new Error(`resize to ${outWidth}x${outHeight}: sizes must be >= 1`);
  if (
    b.width <= 0 ||
    b.height <= 0 ||
    b.x < 0 ||
    b.y < 0 ||
    b.x + b.width > img.width ||
    b.y + b.height > img.height
  ) {
    throw new Error(
      `resize box ${b.x},${b.y} ${b.width}x${b.height} is not inside the ${img.width}x${img.height} image`,
    );
  }
  const tx = taps(filter, img.width, b.x, b.width, outWidth);
  const ty = taps(filter, img.height, b.y, b.height, outHeight);
  // horizontal pass over the rows the vertical pass will read
  const rowLo = ty.start.reduce((a, s) => Math.min(a, s), img.height);
  let rowHi = 0;
  for (let o = 0; o < outHeight; o++) rowHi = Math.max(rowHi, ty.start[o] + ty.count[o]);
  const tmp = new Float32Array((rowHi - rowLo) * outWidth * c);
  const src = img.data;
  for (let y = rowLo; y < rowHi; y++) {
    const inRow = y * img.width * c;
    const outRow = (y - rowLo) * outWidth * c;
    for (let o = 0; o < outWidth; o++) {
      const s0 = tx.start[o];
      const n = tx.count[o];
      const wBase = o * tx.maxTaps;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += tx.weights[wBase + t] * src[inRow + (s0 + t) * c + k];
        tmp[outRow + o * c + k] = acc;
      }
    }
  }
  const out = new Uint8Array(outWidth * outHeight * c);
  const rowLen = outWidth * c;
  for (let o = 0; o < outHeight; o++) {
    const s0 = ty.start[o] - rowLo;
    const n = ty.count[o];
    const wBase = o * ty.maxTaps;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let t = 0; t < n; t++) acc += ty.weights[wBase + t] * tmp[(s0 + t) * rowLen + i];
      const v = Math.round(acc);
      out[o * rowLen + i] = Math.min(255, Math.max(0, v));
    }
  }
  return { data: out, width: outWidth, height: outHeight };
}
