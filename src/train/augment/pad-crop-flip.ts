/**
 * The classic small-image augmentation (CIFAR / Fashion-MNIST): pad each side by `pad` pixels of `fill`, take a
 * random `size`×`size` crop, flip left–right with probability `hflip`. RandomResizedCrop's area range would
 * destroy most of a 28×28 image, which is why small data sets get this instead. `size` may exceed the input
 * (28 → 32 with pad 4 gives the 32×32 a stride-32 network needs).
 */

import type { Rng } from "../rng.ts";
import { channelsOf, flipHorizontal, type RgbImage } from "./image.ts";

export interface PadCropFlipOptions {
  /** Output side. */
  size: number;
  /** Padding on every side. */
  pad: number;
  /** Padding value per channel (or one value for all), default 0. */
  fill?: number | readonly number[];
  /** Flip probability, default 0.5. */
  hflip?: number;
}

/** Crop of the padded image with its top-left corner at (left, top) in padded coordinates. */
export function padCrop(
  img: RgbImage,
  size: number,
  pad: number,
  left: number,
  top: number,
  fill: number | readonly number[] = 0,
): RgbImage {
  const c = channelsOf(img);
  const fills = typeof fill === "number" ? new Array(c).fill(fill) : fill;
  if (fills.length < c) throw new Error(`pad fill has ${fills.length} values, the image ${c} channels`);
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    const sy = y + top - pad;
    for (let x = 0; x < size; x++) {
      const sx = x + left - pad;
      const o = (y * size + x) * c;
      const inside = sy >= 0 && sy < img.height && sx >= 0 && sx < img.width;
      const i = (sy * img.width + sx) * c;
      for (let k = 0; k < c; k++) out[o + k] = inside ? img.data[i + k] : fills[k];
    }
  }
  return { data: out, width: size, height: size };
}

export function padCropFlip(img: RgbImage, rng: Rng, opts: PadCropFlipOptions): RgbImage {
  // An image smaller than the others of its folder (the recipe's sizes come from the first one) is padded more
  // on that axis, so the crop still fits it, as the evaluation's centred crop does.
  const padX = Math.max(opts.pad, Math.ceil((opts.size - img.width) / 2));
  const padY = Math.max(opts.pad, Math.ceil((opts.size - img.height) / 2));
  const top = rng.int(img.height + 2 * padY - opts.size + 1) - padY + opts.pad;
  const left = rng.int(img.width + 2 * padX - opts.size + 1) - padX + opts.pad;
  const out = padCrop(img, opts.size, opts.pad, left, top, opts.fill);
  return rng.uniform() < (opts.hflip ?? 0.5) ? flipHorizontal(out) : out;
}

/** The evaluation counterpart: the centred crop of the padded image (no randomness). */
export function centerPadCrop(
  img: RgbImage,
  size: number,
  pad: number,
  fill: number | readonly number[] = 0,
): RgbImage {
  const left = Math.floor((img.width + 2 * pad - size) / 2);
  const top = Math.floor((img.height + 2 * pad - size) / 2);
  return padCrop(img, size, pad, left, top, fill);
}
