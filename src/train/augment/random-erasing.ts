/**
 * Random erasing (Zhong et al. 2017) as timm's RandomErasing, on one normalised float CHW image in place:
 * with probability `prob`, up to 10 tries to place a box of area fraction uniform in [minArea, maxArea] and
 * log-uniform aspect ratio; the first box that fits strictly inside is filled with N(0,1) noise per pixel and
 * channel ('pixel' mode). The recipe: prob 0.25, pixel mode, one box.
 */

import type { Rng } from "../rng.ts";
import { roundHalfEven } from "./random-resized-crop.ts";

export interface RandomErasingOptions {
  prob?: number;
  minArea?: number;
  maxArea?: number;
  minAspect?: number;
  /** Default 1/minAspect. */
  maxAspect?: number;
  /** 'pixel': per-pixel normal noise; 'rand': one normal colour per channel; 'const': zeros. */
  mode?: "pixel" | "rand" | "const";
  /** Boxes per image (timm's min_count = max_count = 1). */
  count?: number;
}

export interface ErasedBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Erases in `data` (C×H×W at `offset`); returns the boxes erased (empty when skipped). */
export function randomErasing(
  data: Float32Array,
  channels: number,
  height: number,
  width: number,
  rng: Rng,
  opts: RandomErasingOptions = {},
  offset = 0,
): ErasedBox[] {
  const prob = opts.prob ?? 0.25;
  const minArea = opts.minArea ?? 0.02;
  const maxArea = opts.maxArea ?? 1 / 3;
  const minAspect = opts.minAspect ?? 0.3;
  const logLo = Math.log(minAspect);
  const logHi = Math.log(opts.maxAspect ?? 1 / minAspect);
  const mode = opts.mode ?? "pixel";
  const count = opts.count ?? 1;
  if (offset + channels * height * width > data.length) {
    throw new Error(
      `random erasing: buffer of ${data.length} values is too small for ${channels}x${height}x${width} at ${offset}`,
    );
  }
  const boxes: ErasedBox[] = [];
  if (rng.uniform() > prob) return boxes;
  const area = height * width;
  for (let b = 0; b < count; b++) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = (rng.uniformRange(minArea, maxArea) * area) / count;
      const aspect = Math.exp(rng.uniformRange(logLo, logHi));
      const h = roundHalfEven(Math.sqrt(target * aspect));
      const w = roundHalfEven(Math.sqrt(target / aspect));
      if (w < width && h < height) {
        const top = rng.int(height - h + 1);
        const left = rng.int(width - w + 1);
        for (let c = 0; c < channels; c++) {
          const colour = mode === "rand" ? rng.normal() : 0;
          const plane = offset + c * area;
          for (let y = top; y < top + h; y++) {
            for (let x = left; x < left + w; x++)
              data[plane + y * width + x] = mode === "pixel" ? rng.normal() : colour;
          }
        }
        boxes.push({ top, left, height: h, width: w });
        break;
      }
    }
  }
  return boxes;
}
