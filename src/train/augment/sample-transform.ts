/**
 * Per-sample transforms as plain data (so a loader worker can receive them in a message), and the one function
 * that runs them: 8-bit image in, normalised float CHW out.
 *
 * - `imagenet-train`: the recipe's chain, timm `transforms_imagenet_train` order: RandomResizedCrop → flip →
 *   RandAugment → ToTensor/Normalize → RandomErasing.
 * - `pad-crop-flip`: small-image training (Fashion-MNIST, CIFAR), optionally followed by random erasing.
 * - `center-pad-crop`: its evaluation counterpart.
 * - `resize-center-crop`: evaluation for photos (short side to size/cropPct, centre crop). NOTE: the float
 *   resize here is close to, not bit-exact with, PIL; the exact evaluation preprocessing lives in preprocess/.
 */

import type { Rng } from "../rng.ts";
import { channelsOf, type RgbImage, toNormalizedChw } from "./image.ts";
import { centerPadCrop, padCropFlip } from "./pad-crop-flip.ts";
import { IMAGENET_FILL, parseRandAugment, randAugment } from "./rand-augment.ts";
import { randomErasing } from "./random-erasing.ts";
import { randomResizedCrop, roundHalfEven } from "./random-resized-crop.ts";
import { type ResizeFilter, resizeBox } from "./resize.ts";

interface Normalize {
  /** Per output channel; its length sets the number of output channels. */
  mean: number[];
  std: number[];
}

export type SampleTransform =
  | (Normalize & {
      kind: "imagenet-train";
      size: number;
      scale?: [number, number];
      ratio?: [number, number];
      interpolation?: ResizeFilter;
      hflip?: number;
      /** timm config string, e.g. "rand-m9-mstd0.5-inc1"; null = none. */
      randAugment?: string | null;
      /** Random erasing probability (pixel mode, one box); 0 = off. */
      reprob?: number;
    })
  | (Normalize & {
      kind: "pad-crop-flip";
      size: number;
      pad: number;
      hflip?: number;
      fill?: number;
      reprob?: number;
    })
  | (Normalize & { kind: "center-pad-crop"; size: number; pad: number; fill?: number })
  | (Normalize & { kind: "resize-center-crop"; size: number; cropPct: number; interpolation?: ResizeFilter });

/** ImageNet normalisation (timm IMAGENET_DEFAULT_MEAN / STD). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** The recipe's training transform at `size`. */
export function recipeTrainTransform(size = 224): SampleTransform {
  return {
    kind: "imagenet-train",
    size,
    interpolation: "bicubic",
    randAugment: "rand-m9-mstd0.5-inc1",
    reprob: 0.25,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  };
}

/** Output [C, H, W] of a transform. */
export function transformShape(t: SampleTransform): [number, number, number] {
  return [t.mean.length, t.size, t.size];
}

function meanFill(mean: readonly number[]): number[] {
  return mean.length === 3 ? mean.map((m) => Math.min(255, Math.round(255 * m))) : [...IMAGENET_FILL];
}

/** Shorter side → floor(size / cropPct) (torchvision's rule, long side floored), then the centred size×size crop. */
function resizeCenterCrop(img: RgbImage, size: number, cropPct: number, filter: ResizeFilter): RgbImage {
  const short = Math.floor(size / cropPct);
  const [w, h] =
    img.width <= img.height
      ? [short, Math.floor((short * img.height) / img.width)]
      : [Math.floor((short * img.width) / img.height), short];
  const resized = resizeBox(img, w, h, filter);
  const left = roundHalfEven((w - size) / 2);
  const top = roundHalfEven((h - size) / 2);
  const c = channelsOf(resized);
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++)
    out.set(
      resized.data.subarray(((y + top) * w + left) * c, ((y + top) * w + left + size) * c),
      y * size * c,
    );
  return { data: out, width: size, height: size };
}

/** Runs `t` on `img` and writes C×H×W floats into `out` at `offset`. */
export function applySampleTransform(
  img: RgbImage,
  t: SampleTransform,
  rng: Rng,
  out: Float32Array,
  offset = 0,
): void {
  const channels = t.mean.length;
  let reprob = 0;
  let res: RgbImage;
  switch (t.kind) {
    case "imagenet-train": {
      res = randomResizedCrop(img, rng, {
        size: t.size,
        scale: t.scale,
        ratio: t.ratio,
        interpolation: t.interpolation ?? "bicubic",
        hflip: t.hflip,
      });
      if (t.randAugment) res = randAugment(res, rng, parseRandAugment(t.randAugment, meanFill(t.mean)));
      reprob = t.reprob ?? 0;
      break;
    }
    case "pad-crop-flip":
      res = padCropFlip(img, rng, { size: t.size, pad: t.pad, hflip: t.hflip, fill: t.fill ?? 0 });
      reprob = t.reprob ?? 0;
      break;
    case "center-pad-crop":
      res = centerPadCrop(img, t.size, t.pad, t.fill ?? 0);
      break;
    case "resize-center-crop":
      res = resizeCenterCrop(img, t.size, t.cropPct, t.interpolation ?? "bicubic");
      break;
  }
  toNormalizedChw(res, t.mean, t.std, out, offset, channels);
  if (reprob > 0) randomErasing(out, channels, t.size, t.size, rng, { prob: reprob, mode: "pixel" }, offset);
}
