/**
 * RandomResizedCrop + horizontal flip, the recipe's train crop (torchvision `RandomResizedCrop.get_params`,
 * identical in timm's RandomResizedCropAndInterpolation): up to 10 tries of an area fraction uniform in `scale`
 * and a log-uniform aspect ratio in `ratio`; if none fits, a center crop with the ratio clamped into range.
 */

import type { Rng } from "../rng.ts";
import { flipHorizontal, type RgbImage } from "./image.ts";
import { type ResizeFilter, resizeBox } from "./resize.ts";

export interface CropParams {
  /** Top row. */
  top: number;
  /** Left column. */
  left: number;
  height: number;
  width: number;
}

/** Python's round(): half to even (torchvision rounds the crop sizes with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function randomResizedCropParams(
  width: number,
  height: number,
  rng: Rng,
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): CropParams {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniformRange(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniformRange(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = roundHalfEven(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

export interface RandomResizedCropOptions {
  size: number;
  scale?: [number, number];
  ratio?: [number, number];
  /** The recipe resizes bicubic. */
  interpolation?: ResizeFilter;
  /** Horizontal flip probability (0.5). */
  hflip?: number;
}

/** Crop, resize to `size`×`size`, then flip with probability `hflip` (the order timm applies them in). */
export function randomResizedCrop(img: RgbImage, rng: Rng, opts: RandomResizedCropOptions): RgbImage {
  const p = randomResizedCropParams(img.width, img.height, rng, opts.scale, opts.ratio);
  const out = resizeBox(img, opts.size, opts.size, opts.interpolation ?? "bicubic", {
    x: p.left,
    y: p.top,
    width: p.width,
    height: p.height,
  });
  return rng.uniform() < (opts.hflip ?? 0.5) ? flipHorizontal(out) : out;
}
