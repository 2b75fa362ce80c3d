/**
 * Geometric RandAugment operations, PIL `Image.transform(AFFINE)` semantics: the six coefficients map an output
 * pixel centre (x+0.5, y+0.5) to input coordinates, `xin = a·x + b·y + c`, `yin = d·x + e·y + f`; samples outside
 * the input take the fill colour. Sampling is bilinear (PIL's bilinear: taps clamped at the border, none outside)
 * or nearest. NOTE: timm draws bilinear or bicubic per call, or uses the train interpolation (bicubic in the
 * ConvNeXt recipe); bilinear here is a simplification that only softens these already-resampled images slightly.
 */

import { channelsOf, type RgbImage } from "./image.ts";

export type AffineResample = "bilinear" | "nearest";

/** (a, b, c, d, e, f): output → input. */
export type AffineMatrix = readonly [number, number, number, number, number, number];

export function affineTransform(
  img: RgbImage,
  m: AffineMatrix,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  const c = channelsOf(img);
  if (fill.length < c) throw new Error(`fill colour has ${fill.length} values, the image ${c} channels`);
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(src.length);
  const [a, b, cc, d, e, f] = m;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      const xin = a * (x + 0.5) + b * (y + 0.5) + cc;
      const yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        for (let k = 0; k < c; k++) out[o + k] = fill[k];
        continue;
      }
      if (resample === "nearest") {
        const i = (Math.floor(yin) * w + Math.floor(xin)) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[i + k];
        continue;
      }
      const xs = xin - 0.5;
      const ys = yin - 0.5;
      const x0 = Math.floor(xs);
      const y0 = Math.floor(ys);
      const dx = xs - x0;
      const dy = ys - y0;
      const xa = Math.max(0, x0);
      const xb = Math.min(w - 1, x0 + 1);
      const ya = Math.max(0, y0);
      const yb = Math.min(h - 1, y0 + 1);
      for (let k = 0; k < c; k++) {
        const top = src[(ya * w + xa) * c + k] * (1 - dx) + src[(ya * w + xb) * c + k] * dx;
        const bottom = src[(yb * w + xa) * c + k] * (1 - dx) + src[(yb * w + xb) * c + k] * dx;
        out[o + k] = Math.round(top * (1 - dy) + bottom * dy);
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Rotate counter-clockwise by `degrees` about the image centre, same size (PIL Image.rotate, expand off). */
export function rotate(
  img: RgbImage,
  degrees: number,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  const angle = (-degrees * Math.PI) / 180;
  // PIL rounds the matrix to 15 decimals so that multiples of 90° are exact
  const cos = Math.round(Math.cos(angle) * 1e15) / 1e15;
  const sin = Math.round(Math.sin(angle) * 1e15) / 1e15;
  const cx = img.width / 2;
  const cy = img.height / 2;
  const m: AffineMatrix = [cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy];
  return affineTransform(img, m, fill, resample);
}

/** Horizontal shear: xin = x + factor·y. */
export function shearX(
  img: RgbImage,
  factor: number,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  return affineTransform(img, [1, factor, 0, 0, 1, 0], fill, resample);
}

/** Vertical shear: yin = factor·x + y. */
export function shearY(
  img: RgbImage,
  factor: number,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  return affineTransform(img, [1, 0, 0, factor, 1, 0], fill, resample);
}

/** Content moves left by `pixels` (xin = x + pixels). */
export function translateX(
  img: RgbImage,
  pixels: number,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  return affineTransform(img, [1, 0, pixels, 0, 1, 0], fill, resample);
}

/** Content moves up by `pixels` (yin = y + pixels). */
export function translateY(
  img: RgbImage,
  pixels: number,
  fill: readonly number[],
  resample: AffineResample = "bilinear",
): RgbImage {
  return affineTransform(img, [1, 0, 0, 0, 1, pixels], fill, resample);
}
