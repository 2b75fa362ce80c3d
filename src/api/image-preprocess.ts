/**
 * The preprocessing a model wants, and applying it to a decoded image.
 *
 * Where the settings come from (first match wins): a `preprocess` entry in the checkpoint's safetensors
 * metadata (JSON of PreprocessConfig, camelCase or timm's snake_case names), the pretrained entry the weights
 * belong to, else timm's default (224, bicubic, crop_pct 0.875, ImageNet mean/std).
 *
 * 1-channel models (our Fashion-MNIST model) get the image as PIL's `convert('L')` gives it, then the usual
 * resize/crop/normalise with one mean and std.
 *
 * Besides timm's 'center' and 'squash', the metadata may say `"cropMode": "pad", "pad": p` (written by our
 * trainer for Fashion-MNIST, trained on 28×28 images framed by 2 zero pixels to 32×32): the image is fitted into
 * (size − 2p) as in 'center' mode (resize the short side to floor((size − 2p) / cropPct), centre crop), then
 * framed by p zero pixels on each side before normalising. On a 28×28 image that is exactly the trainer's
 * evaluation transform (`center-pad-crop`): no resize, no crop, the same frame.
 */
import type { ResampleFilter } from "../preprocess/resize-pil.ts";
import { assertRgbImage, type RgbImage } from "../preprocess/rgb-image.ts";
import {
  centerCrop,
  evalResize,
  evalTransform,
  type PreprocessConfig,
  toNormalizedTensor,
} from "../preprocess/transform.ts";
import { type Float32Tensor, float32 } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";
import { metadataObject } from "./metadata-json.ts";

export interface ImagePreprocess {
  /** Resize, crop and normalisation. A 1-channel model uses mean[0] and std[0]. */
  config: PreprocessConfig;
  /** Channels of the model input: 3 (RGB) or 1 (PIL 'L'). */
  channels: 1 | 3;
  /** 'pad' mode: zero pixels framing the image on each side, inside `config.inputSize` (default 0). */
  pad?: number;
}

export interface PreparedImage {
  /** Model input, float32 (channels, H, W). */
  tensor: Float32Tensor;
  /** (H, W, 3) uint8 after resize and crop (R = G = B for 1-channel models). */
  uint8: RgbImage;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** timm's `_cfg` default for ConvNeXt weights without their own data config. */
export const TIMM_DEFAULT_PREPROCESS: PreprocessConfig = {
  inputSize: 224,
  interpolation: "bicubic",
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  cropPct: 0.875,
  cropMode: "center",
};

const FILTERS: readonly ResampleFilter[] = ["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"];

export function inputChannels(inChans: number, source = "model"): 1 | 3 {
  if (inChans !== 1 && inChans !== 3) {
    throw new Error(
      `${source}: image input needs a 1- or 3-channel model, this one takes ${inChans} channels`,
    );
  }
  return inChans;
}

/**
 * Reads a preprocessing config from JSON (the `preprocess` metadata entry). Missing fields take timm's
 * defaults, except mean and std of a 1-channel model, which have no default.
 */
export function parsePreprocessJson(text: string, inChans: number, source = "checkpoint"): ImagePreprocess {
  const channels = inputChannels(inChans, source);
  const bad = (why: string) => new Error(`${source}: metadata 'preprocess' ${why}`);
  const o = metadataObject(text, "preprocess", source);
  const field = (camel: string, snake: string) => o[camel] ?? o[snake];
  const d = TIMM_DEFAULT_PREPROCESS;

  const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
  const isSide = (v: unknown): v is number => isPositiveInt(v) && v <= LIMITS.maxInputSide;
  let inputSize: PreprocessConfig["inputSize"] = d.inputSize;
  const size = field("inputSize", "input_size");
  const sizeError = () =>
    bad(
      `inputSize must be an integer from 1 to ${LIMITS.maxInputSide} or [H, W] of them, got ${JSON.stringify(size).slice(0, 80)}`,
    );
  if (isSide(size)) inputSize = size;
  else if (Array.isArray(size) && (size.length === 2 || size.length === 3) && size.every(isPositiveInt)) {
    // timm writes (C, H, W).
    if (size.length === 3 && size[0] !== channels) {
      throw bad(`input_size ${JSON.stringify(size)} has ${size[0]} channels, the model takes ${channels}`);
    }
    const [h, w] = [size[size.length - 2], size[size.length - 1]];
    if (!isSide(h) || !isSide(w)) throw sizeError();
    inputSize = [h, w];
  } else if (size !== undefined) throw sizeError();

  const interpolation = field("interpolation", "interpolation") ?? d.interpolation;
  if (!FILTERS.includes(interpolation as ResampleFilter)) {
    throw bad(`interpolation must be one of ${FILTERS.join(", ")}, got ${JSON.stringify(interpolation)}`);
  }

  const triple = (name: "mean" | "std"): [number, number, number] => {
    const v = field(name, name);
    if (v === undefined) {
      if (channels === 1) throw bad(`needs '${name}' (one value) for a 1-channel model`);
      return [...d[name]];
    }
    const list = typeof v === "number" ? [v] : v;
    const ok =
      Array.isArray(list) &&
      (list.length === 1 || list.length === channels) &&
      list.every((x) => typeof x === "number" && Number.isFinite(x) && (name === "mean" || x > 0));
    if (!ok) {
      const what = name === "std" ? "positive numbers" : "numbers";
      throw bad(`${name} must be ${channels === 1 ? "1" : "1 or 3"} ${what}, got ${JSON.stringify(v)}`);
    }
    const l = list as number[];
    return l.length === 1 ? [l[0], l[0], l[0]] : [l[0], l[1], l[2]];
  };

  const cropPct = field("cropPct", "crop_pct") ?? d.cropPct;
  if (typeof cropPct !== "number" || !(cropPct > 0))
    throw bad(`cropPct must be > 0, got ${JSON.stringify(cropPct)}`);
  const cropMode = field("cropMode", "crop_mode") ?? d.cropMode;
  if (cropMode !== "center" && cropMode !== "squash" && cropMode !== "pad") {
    throw bad(`cropMode must be "center", "squash" or "pad", got ${JSON.stringify(cropMode)}`);
  }
  let pad = 0;
  if (cropMode === "pad") {
    const p = field("pad", "pad");
    const [h, w] = typeof inputSize === "number" ? [inputSize, inputSize] : inputSize;
    if (!Number.isInteger(p) || (p as number) < 0 || 2 * (p as number) >= Math.min(h, w)) {
      throw bad(
        `cropMode "pad" needs 'pad', an integer >= 0 leaving room inside ${h}x${w}, got ${JSON.stringify(p)}`,
      );
    }
    pad = p as number;
  }
  const grayscale = field("grayscale", "grayscale");
  if (grayscale !== undefined && grayscale !== (channels === 1)) {
    throw bad(`says grayscale ${JSON.stringify(grayscale)} but the model takes ${channels} channels`);
  }
  const resizeSize = field("resizeSize", "resize_size");
  if (resizeSize !== undefined && !isPositiveInt(resizeSize)) {
    throw bad(`resizeSize must be a positive integer, got ${JSON.stringify(resizeSize)}`);
  }
  // Images are resized to this side before the crop: bounded like the crop (twice, for a small crop_pct).
  const longest = typeof inputSize === "number" ? inputSize : Math.max(...inputSize);
  const resizeTo = resizeSize ?? Math.floor(longest / cropPct);
  if (resizeTo > 2 * LIMITS.maxInputSide)
    throw bad(`resizes images to ${resizeTo} pixels a side, over the limit of ${2 * LIMITS.maxInputSide}`);
  const config: PreprocessConfig = {
    inputSize,
    interpolation: interpolation as ResampleFilter,
    mean: triple("mean"),
    std: triple("std"),
    cropPct,
    cropMode: cropMode === "pad" ? "center" : cropMode,
    ...(resizeSize !== undefined ? { resizeSize } : {}),
  };
  return pad > 0 ? { config, channels, pad } : { config, channels };
}

/** The config as JSON for metadata (one mean/std value for 1-channel models), readable by parsePreprocessJson. */
export function preprocessToJson(p: ImagePreprocess): string {
  const { config, channels, pad = 0 } = p;
  return JSON.stringify({
    ...config,
    mean: channels === 1 ? [config.mean[0]] : config.mean,
    std: channels === 1 ? [config.std[0]] : config.std,
    ...(pad > 0 ? { cropMode: "pad", pad } : {}),
    grayscale: channels === 1,
  });
}

/**
 * PIL's `convert('L')` of RGB: L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 (Convert.c `rgb2l`), the
 * ITU-R 601-2 weights 0.299/0.587/0.114 in 16-bit fixed point, rounded. Returned as R = G = B so the RGB
 * resize and crop can run on it unchanged (each channel is resampled alone, so all three stay equal).
 */
export function rgbToGreyRgb(img: RgbImage): RgbImage {
  const { data } = img;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    const l = (data[i] * 19595 + data[i + 1] * 38470 + data[i + 2] * 7471 + 0x8000) >> 16;
    out[i] = l;
    out[i + 1] = l;
    out[i + 2] = l;
  }
  return { data: out, width: img.width, height: img.height };
}

/** 'pad' mode: fit into the inner size as 'center' mode does, then frame with zeros up to the input size. */
function padTransform(img: RgbImage, config: PreprocessConfig, pad: number): PreparedImage {
  const [h, w] =
    typeof config.inputSize === "number" ? [config.inputSize, config.inputSize] : config.inputSize;
  const inner: PreprocessConfig = { ...config, inputSize: [h - 2 * pad, w - 2 * pad], cropMode: "center" };
  const fitted = centerCrop(evalResize(img, inner), h - 2 * pad, w - 2 * pad);
  // centerCrop zero-pads a smaller image by floor((h - inner) / 2) = pad on each side.
  const uint8 = centerCrop(fitted, h, w);
  return { tensor: toNormalizedTensor(uint8, config.mean, config.std), uint8 };
}

/** Decoded RGB image → model input, as timm's eval transform computes it (PIL-exact). */
export function prepareImage(img: RgbImage, p: ImagePreprocess): PreparedImage {
  assertRgbImage(img);
  const transform = (x: RgbImage): PreparedImage =>
    p.pad ? padTransform(x, p.config, p.pad) : evalTransform(x, p.config);
  if (p.channels === 3) {
    const { tensor, uint8 } = transform(img);
    return { tensor, uint8 };
  }
  const { tensor, uint8 } = transform(rgbToGreyRgb(img));
  const [, h, w] = tensor.dims;
  // Channel 0 was normalised with mean[0] / std[0], the grey model's values.
  return { tensor: float32([1, h, w], tensor.data.slice(0, h * w)), uint8 };
}
