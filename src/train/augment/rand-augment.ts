/**
 * RandAugment as timm implements it (`timm/data/auto_augment.py`), e.g. the recipe's `rand-m9-mstd0.5-inc1`:
 * per image, `n` ops drawn uniformly with replacement from the list; each op runs with probability 0.5 at a
 * magnitude drawn from N(m, mstd) clipped to [0, 10], turned into the op's argument by timm's level functions
 * (signed ops flip sign with probability 0.5). Geometric ops fill with the data set mean colour.
 */

import type { Rng } from "../rng.ts";
import { type AffineResample, rotate, shearX, shearY, translateX, translateY } from "./affine.ts";
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
} from "./color-ops.ts";
import type { RgbImage } from "./image.ts";

/** timm's _RAND_TRANSFORMS ("inc0"). */
export const RAND_TRANSFORMS = [
  "AutoContrast",
  "Equalize",
  "Invert",
  "Rotate",
  "Posterize",
  "Solarize",
  "SolarizeAdd",
  "Color",
  "Contrast",
  "Brightness",
  "Sharpness",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
] as const;

/** timm's _RAND_INCREASING_TRANSFORMS ("inc1"): every op gets stronger as the magnitude grows. */
export const RAND_INCREASING_TRANSFORMS = [
  "AutoContrast",
  "Equalize",
  "Invert",
  "Rotate",
  "PosterizeIncreasing",
  "SolarizeIncreasing",
  "SolarizeAdd",
  "ColorIncreasing",
  "ContrastIncreasing",
  "BrightnessIncreasing",
  "SharpnessIncreasing",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
] as const;

export type RandAugmentOpName =
  | (typeof RAND_TRANSFORMS)[number]
  | (typeof RAND_INCREASING_TRANSFORMS)[number];

export interface RandAugmentConfig {
  /** Ops per image (timm default 2). */
  numOps: number;
  /** Magnitude 0..10. */
  magnitude: number;
  /** Std of the per-op magnitude noise; Infinity = uniform in [0, magnitude]. */
  magnitudeStd: number;
  /** Upper clip of the noisy magnitude (10). */
  magnitudeMax: number;
  ops: readonly RandAugmentOpName[];
  /** Probability that a drawn op is applied (0.5). */
  prob: number;
  /** Fill colour of the geometric ops: timm passes the data set mean, round(255·mean) = (124, 116, 104). */
  fill: readonly number[];
  resample: AffineResample;
}

/** The ImageNet mean as timm's fill colour. */
export const IMAGENET_FILL = [124, 116, 104] as const;

const LEVEL_DENOM = 10;

/**
 * Parses timm's config string (`rand-m9-mstd0.5-inc1`, sections m, n, mstd, mmax, inc; `w` weights are not
 * supported).
 */
export function parseRandAugment(spec: string, fill: readonly number[] = IMAGENET_FILL): RandAugmentConfig {
  const parts = spec.split("-");
  if (parts[0] !== "rand") throw new Error(`RandAugment spec must start with "rand", got "${spec}"`);
  const cfg: RandAugmentConfig = {
    numOps: 2,
    magnitude: LEVEL_DENOM,
    magnitudeStd: 0,
    magnitudeMax: LEVEL_DENOM,
    ops: RAND_TRANSFORMS,
    prob: 0.5,
    fill,
    resample: "bilinear",
  };
  for (const part of parts.slice(1)) {
    const m = /^([a-z]+)(\d.*)$/.exec(part);
    if (!m) throw new Error(`RandAugment spec "${spec}": cannot read section "${part}"`);
    const [, key, val] = m;
    const num = Number(val);
    if (!Number.isFinite(num))
      throw new Error(`RandAugment spec "${spec}": section "${part}" is not a number`);
    if (key === "m") cfg.magnitude = Math.trunc(num);
    else if (key === "n") cfg.numOps = Math.trunc(num);
    else if (key === "mstd") cfg.magnitudeStd = num > 100 ? Number.POSITIVE_INFINITY : num;
    else if (key === "mmax") cfg.magnitudeMax = Math.trunc(num);
    else if (key === "inc") cfg.ops = num ? RAND_INCREASING_TRANSFORMS : RAND_TRANSFORMS;
    else
      throw new Error(`RandAugment spec "${spec}": unknown section "${key}" (known: m, n, mstd, mmax, inc)`);
  }
  return cfg;
}

function signed(v: number, rng: Rng): number {
  return rng.uniform() > 0.5 ? -v : v;
}

/** timm's level functions: magnitude (0..10) → op argument; draws the random sign where timm does. */
export function levelToArg(op: RandAugmentOpName, level: number, rng: Rng): number {
  switch (op) {
    case "Rotate":
      return signed((level / LEVEL_DENOM) * 30, rng);
    case "Posterize":
      return Math.trunc((level / LEVEL_DENOM) * 4);
    case "PosterizeIncreasing":
      return 4 - Math.trunc((level / LEVEL_DENOM) * 4);
    case "Solarize":
      return Math.trunc((level / LEVEL_DENOM) * 256);
    case "SolarizeIncreasing":
      return 256 - Math.trunc((level / LEVEL_DENOM) * 256);
    case "SolarizeAdd":
      return Math.trunc((level / LEVEL_DENOM) * 110);
    case "Color":
    case "Contrast":
    case "Brightness":
    case "Sharpness":
      return (level / LEVEL_DENOM) * 1.8 + 0.1;
    case "ColorIncreasing":
    case "ContrastIncreasing":
    case "BrightnessIncreasing":
    case "SharpnessIncreasing":
      return Math.max(0.1, 1 + signed((level / LEVEL_DENOM) * 0.9, rng));
    case "ShearX":
    case "ShearY":
      return signed((level / LEVEL_DENOM) * 0.3, rng);
    case "TranslateXRel":
    case "TranslateYRel":
      return signed((level / LEVEL_DENOM) * 0.45, rng);
    default:
      return 0; // AutoContrast, Equalize, Invert take no argument
  }
}

/** Applies one named op with its argument (as timm's NAME_TO_OP does). */
export function applyOp(
  img: RgbImage,
  op: RandAugmentOpName,
  arg: number,
  cfg: Pick<RandAugmentConfig, "fill" | "resample">,
): RgbImage {
  switch (op) {
    case "AutoContrast":
      return autoContrast(img);
    case "Equalize":
      return equalize(img);
    case "Invert":
      return invert(img);
    case "Rotate":
      return rotate(img, arg, cfg.fill, cfg.resample);
    case "Posterize":
    case "PosterizeIncreasing":
      return posterize(img, arg);
    case "Solarize":
    case "SolarizeIncreasing":
      return solarize(img, arg);
    case "SolarizeAdd":
      return solarizeAdd(img, arg);
    case "Color":
    case "ColorIncreasing":
      return color(img, arg);
    case "Contrast":
    case "ContrastIncreasing":
      return contrast(img, arg);
    case "Brightness":
    case "BrightnessIncreasing":
      return brightness(img, arg);
    case "Sharpness":
    case "SharpnessIncreasing":
      return sharpness(img, arg);
    case "ShearX":
      return shearX(img, arg, cfg.fill, cfg.resample);
    case "ShearY":
      return shearY(img, arg, cfg.fill, cfg.resample);
    case "TranslateXRel":
      return translateX(img, arg * img.width, cfg.fill, cfg.resample);
    case "TranslateYRel":
      return translateY(img, arg * img.height, cfg.fill, cfg.resample);
  }
}

export interface AppliedOp {
  op: RandAugmentOpName;
  /** null when the op was drawn but skipped (probability 1 − prob). */
  arg: number | null;
}

/** Augments one image; `trace`, when given, receives the ops drawn and their arguments. */
export function randAugment(img: RgbImage, rng: Rng, cfg: RandAugmentConfig, trace?: AppliedOp[]): RgbImage {
  let out = img;
  for (let i = 0; i < cfg.numOps; i++) {
    const op = cfg.ops[rng.int(cfg.ops.length)];
    if (cfg.prob < 1 && rng.uniform() > cfg.prob) {
      trace?.push({ op, arg: null });
      continue;
    }
    let magnitude = cfg.magnitude;
    if (cfg.magnitudeStd === Number.POSITIVE_INFINITY) magnitude = rng.uniform() * magnitude;
    else if (cfg.magnitudeStd > 0) magnitude += cfg.magnitudeStd * rng.normal();
    magnitude = Math.max(0, Math.min(magnitude, cfg.magnitudeMax));
    const arg = levelToArg(op, magnitude, rng);
    trace?.push({ op, arg });
    out = applyOp(out, op, arg, cfg);
  }
  return out;
}
