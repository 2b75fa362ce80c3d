/**
 * timm's evaluation transform (`transforms_imagenet_eval`) on a decoded RGB image, byte-for-byte as
 * timm + torchvision + PIL compute it:
 *   Resize(floor(size / crop_pct)) → CenterCrop(size) → ToTensor → Normalize(mean, std).
 * NOTE (the traps, each one shifts every pixel if missed):
 * - torchvision's short-side Resize FLOORS the long side: int(size * long / short) (451x300 → 384x256, not 385).
 * - CenterCrop offsets use Python's round(), half to even: (383 - 224) / 2 = 79.5 → 80.
 * - ToTensor and Normalize run in float32, one rounding per op: ((f32(u8) / 255) - mean_f32) / std_f32.
 * - crop_mode 'squash' resizes both sides to floor(size / crop_pct) (aspect ratio not kept), then center-crops.
 * - A non-square input size in 'center' mode goes through timm's ResizeKeepRatio, which timm builds without
 *   passing the interpolation, so it resizes BILINEAR whatever the config says. We do the same.
 */
import { type Float32Tensor, float32, sameDims, shapeString } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";
import { type ResampleFilter, resizePil } from "./resize-pil.ts";
import { assertRgbImage, type RgbImage } from "./rgb-image.ts";

export interface PreprocessConfig {
  /** Model input size: a square side or [height, width]. */
  inputSize: number | readonly [number, number];
  interpolation: ResampleFilter;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Crop fraction: the resize target is floor(size / cropPct). */
  cropPct: number;
  cropMode: "center" | "squash";
  /** Explicit resize target (short side), overriding floor(size / cropPct): torchvision's weights say 236/230/232. */
  resizeSize?: number;
}

export interface PreprocessResult {
  /** float32 (3, H, W), the model input. */
  tensor: Float32Tensor;
  /** (H, W, 3) after resize and crop, before ToTensor/Normalize. */
  uint8: RgbImage;
  /** After resize, before crop. */
  resized: RgbImage;
}

/** Python's round() for one number: halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function resize(img: RgbImage, width: number, height: number, filter: ResampleFilter): RgbImage {
  // The decode limit bounds the input; this bounds the output, which a thin image and a large target could make
  // far larger (a resize never needs more than the default limit or its own input's size).
  const limit = Math.max(LIMITS.maxPixels, img.width * img.height);
  if (width * height > limit) {
    throw new Error(
      `resizing ${img.width}x${img.height} to ${width}x${height} exceeds the limit of ${limit} pixels`,
    );
  }
  const { data } = resizePil(img, width, height, filter);
  return { data, width, height };
}

/** torchvision `Resize(size)` with an int: the short side becomes `size`, the long side is floored. */
export function resizeShortSide(img: RgbImage, size: number, filter: ResampleFilter): RgbImage {
  const { width: w, height: h } = img;
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((size * long) / short);
  const [newW, newH] = w <= h ? [size, newLong] : [newLong, size];
  if (newW === w && newH === h) return img;
  return resize(img, newW, newH, filter);
}

/** torchvision `CenterCrop([height, width])`, zero-padding first when the image is smaller than the crop. */
export function centerCrop(img: RgbImage, height: number, width: number): RgbImage {
  if (width > img.width || height > img.height) {
    const left = width > img.width ? Math.floor((width - img.width) / 2) : 0;
    const top = height > img.height ? Math.floor((height - img.height) / 2) : 0;
    const padW = Math.max(width, img.width);
    const padH = Math.max(height, img.height);
    const padded = new Uint8Array(padW * padH * 3);
    for (let y = 0; y < img.height; y++) {
      padded.set(
        img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3),
        ((y + top) * padW + left) * 3,
      );
    }
    img = { data: padded, width: padW, height: padH };
    if (padW === width && padH === height) return img;
  }
  const top = roundHalfEven((img.height - height) / 2);
  const left = roundHalfEven((img.width - width) / 2);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(s, s + width * 3), y * width * 3);
  }
  return { data: out, width, height };
}

/** ToTensor + Normalize: HWC uint8 → CHW float32, every step rounded to float32 as PyTorch does. */
export function toNormalizedTensor(
  img: RgbImage,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): Float32Tensor {
  assertRgbImage(img);
  const triple = (v: readonly number[], positive: boolean) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && (!positive || x > 0));
  if (!triple(mean, false) || !triple(std, true))
    throw new Error(
      `preprocess: mean must be 3 finite numbers and std 3 positive ones, got ${JSON.stringify(mean)} and ${JSON.stringify(std)}`,
    );
  const { width, height, data } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    // A double op on float32 inputs, rounded once to float32, equals the float32 op (no double-rounding issue).
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    for (let i = 0; i < plane; i++) out[c * plane + i] = lut[data[i * 3 + c]];
  }
  return float32([3, height, width], out);
}

function inputHW(size: PreprocessConfig["inputSize"]): [number, number] {
  return typeof size === "number" ? [size, size] : [size[0], size[1]];
}

/** The resize step alone (before the crop), as timm builds it for this config. */
export function evalResize(img: RgbImage, cfg: PreprocessConfig): RgbImage {
  const [h, w] = inputHW(cfg.inputSize);
  const [sh, sw] =
    cfg.resizeSize !== undefined
      ? [cfg.resizeSize, cfg.resizeSize]
      : [h, w].map((x) => Math.floor(x / cfg.cropPct));
  if (cfg.cropMode === "squash") {
    return sw === img.width && sh === img.height ? img : resize(img, sw, sh, cfg.interpolation);
  }
  if (sh === sw) return resizeShortSide(img, sh, cfg.interpolation);
  // timm ResizeKeepRatio (longest=0): scale so the image covers the target, sizes rounded half to even.
  const ratio = Math.min(img.height / sh, img.width / sw);
  const [nh, nw] = [img.height, img.width].map((x) => roundHalfEven(x / ratio));
  return nh === img.height && nw === img.width ? img : resize(img, nw, nh, "bilinear");
}

/** timm's eval transform: resize, center crop, ToTensor, Normalize. */
export function evalTransform(img: RgbImage, cfg: PreprocessConfig): PreprocessResult {
  assertRgbImage(img);
  const [h, w] = inputHW(cfg.inputSize);
  if (!(cfg.cropPct > 0)) throw new Error(`preprocess: cropPct must be > 0, got ${cfg.cropPct}`);
  if (cfg.cropMode !== "center" && cfg.cropMode !== "squash")
    throw new Error(`preprocess: cropMode must be "center" or "squash", got ${JSON.stringify(cfg.cropMode)}`);
  const resized = evalResize(img, cfg);
  const uint8 = centerCrop(resized, h, w);
  return { tensor: toNormalizedTensor(uint8, cfg.mean, cfg.std), uint8, resized };
}

/** Stacks (3, H, W) tensors into one (N, 3, H, W) batch. */
export function batchTensors(list: readonly Float32Tensor[]): Float32Tensor {
  if (list.length === 0) throw new Error("batchTensors: empty list");
  const dims = list[0].dims;
  const n = list[0].data.length;
  const out = new Float32Array(list.length * n);
  list.forEach((t, i) => {
    if (!sameDims(t.dims, dims)) {
      throw new Error(
        `batchTensors: tensor ${i} has shape ${shapeString(t.dims)}, tensor 0 has ${shapeString(dims)}`,
      );
    }
    out.set(t.data, i * n);
  });
  return float32([list.length, ...dims], out);
}
