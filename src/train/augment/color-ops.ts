/**
 * The pixel-value operations of RandAugment on 8-bit RGB, following PIL's ImageOps / ImageEnhance definitions
 * (timm applies them through PIL): lookup tables per channel, and "enhance" = blend with a degenerate image,
 * `out = degenerate + factor·(img − degenerate)` truncated and clipped to 0..255 as PIL's ImagingBlend does.
 * Written as typed-array loops because no installed library provides PIL's exact definitions (sharp's
 * equivalents differ: its normalise clips percentiles, its modulate works in LCh).
 */

import { channelsOf, type RgbImage, requireRgb } from "./image.ts";

function mapChannels(img: RgbImage, luts: Uint8Array[]): RgbImage {
  const c = channelsOf(img);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += c) for (let k = 0; k < c; k++) out[i + k] = luts[k][src[i + k]];
  return { data: out, width: img.width, height: img.height };
}

function sameLut(img: RgbImage, f: (v: number) => number): RgbImage {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = f(i);
  return mapChannels(img, new Array(channelsOf(img)).fill(lut));
}

function histograms(img: RgbImage): Int32Array[] {
  const c = channelsOf(img);
  const h = Array.from({ length: c }, () => new Int32Array(256));
  for (let i = 0; i < img.data.length; i += c) for (let k = 0; k < c; k++) h[k][img.data[i + k]]++;
  return h;
}

/** 255 − x. */
export function invert(img: RgbImage): RgbImage {
  return sameLut(img, (v) => 255 - v);
}

/** Keep the `bits` most significant bits (PIL ImageOps.posterize); 8 or more leaves the image unchanged. */
export function posterize(img: RgbImage, bits: number): RgbImage {
  if (bits >= 8) return img;
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  return sameLut(img, (v) => v & mask);
}

/** Invert every value at or above `threshold` (PIL ImageOps.solarize). */
export function solarize(img: RgbImage, threshold: number): RgbImage {
  return sameLut(img, (v) => (v < threshold ? v : 255 - v));
}

/** Add `add` (capped at 255) to every value below `threshold` (timm's solarize_add). */
export function solarizeAdd(img: RgbImage, add: number, threshold = 128): RgbImage {
  return sameLut(img, (v) => (v < threshold ? Math.min(255, v + add) : v));
}

/** Stretch each channel so its darkest value becomes 0 and its brightest 255 (PIL ImageOps.autocontrast, cutoff 0). */
export function autoContrast(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    let lo = 0;
    while (lo < 256 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi >= 0 && h[hi] === 0) hi--;
    const lut = new Uint8Array(256);
    if (hi <= lo) {
      for (let i = 0; i < 256; i++) lut[i] = i;
      return lut;
    }
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    for (let i = 0; i < 256; i++) lut[i] = Math.max(0, Math.min(255, Math.trunc(i * scale + offset)));
    return lut;
  });
  return mapChannels(img, luts);
}

/** Histogram equalisation per channel (PIL ImageOps.equalize). */
export function equalize(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    const used = Array.from(h).filter((n) => n > 0);
    const step =
      used.length <= 1 ? 0 : Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]) / 256);
    if (step === 0) {
      for (let i = 0; i < 256; i++) lut[i] = i;
      return lut;
    }
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return lut;
  });
  return mapChannels(img, luts);
}

/** PIL's blend of an image with its degenerate version; truncation toward zero, then clip. */
function blend(degenerate: Uint8Array, img: RgbImage, factor: number): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  const f = Math.fround(factor);
  for (let i = 0; i < src.length; i++) {
    const v = Math.fround(degenerate[i] + f * (src[i] - degenerate[i]));
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return { data: out, width: img.width, height: img.height };
}

/** ITU-R 601-2 luma as PIL's convert("L") computes it (fixed point, rounded). */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/** Saturation: 0 = grayscale, 1 = unchanged (PIL ImageEnhance.Color). */
export function color(img: RgbImage, factor: number): RgbImage {
  requireRgb(img, "color");
  const src = img.data;
  const gray = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3)
    gray[i] = gray[i + 1] = gray[i + 2] = luma(src[i], src[i + 1], src[i + 2]);
  return blend(gray, img, factor);
}

/** Contrast around the mean gray level: 0 = flat mean gray, 1 = unchanged (PIL ImageEnhance.Contrast). */
export function contrast(img: RgbImage, factor: number): RgbImage {
  requireRgb(img, "contrast");
  const src = img.data;
  let sum = 0;
  for (let i = 0; i < src.length; i += 3) sum += luma(src[i], src[i + 1], src[i + 2]);
  const mean = Math.trunc(sum / (src.length / 3) + 0.5);
  return blend(new Uint8Array(src.length).fill(mean), img, factor);
}

/** 0 = black, 1 = unchanged (PIL ImageEnhance.Brightness). */
export function brightness(img: RgbImage, factor: number): RgbImage {
  return blend(new Uint8Array(img.data.length), img, factor);
}

/**
 * 0 = smoothed, 1 = unchanged, 2 = sharpened (PIL ImageEnhance.Sharpness): blend with the image filtered by
 * PIL's SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13; PIL leaves the one-pixel border unfiltered.
 */
export function sharpness(img: RgbImage, factor: number): RgbImage {
  const c = channelsOf(img);
  const { width: w, height: h, data: src } = img;
  const smooth = Uint8Array.from(src);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        const up = i - w * c;
        const down = i + w * c;
        const sum =
          src[up - c] +
          src[up] +
          src[up + c] +
          src[i - c] +
          5 * src[i] +
          src[i + c] +
          src[down - c] +
          src[down] +
          src[down + c];
        smooth[i] = Math.min(255, Math.round(sum / 13));
      }
    }
  }
  return blend(smooth, img, factor);
}
