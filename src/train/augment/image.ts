/**
 * The image type training augmentation works on: 8-bit, interleaved (HWC), row-major. RGB has 3 channels;
 * grayscale data sets (Fashion-MNIST) use 1. The channel count follows from the data length.
 */

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export function channelsOf(img: RgbImage): number {
  const c = img.data.length / (img.width * img.height);
  if (!Number.isInteger(c) || c < 1) {
    throw new Error(
      `image ${img.width}x${img.height} has ${img.data.length} bytes: not a whole number of channels`,
    );
  }
  return c;
}

export function requireRgb(img: RgbImage, what: string): void {
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(
      `${what} needs an RGB image: ${img.width}x${img.height} should have ${img.width * img.height * 3} bytes, got ${img.data.length}`,
    );
  }
}

/** Mirror left–right into a new image. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const c = channelsOf(img);
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const src = row + x * c;
      const dst = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[dst + k] = data[src + k];
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * ToTensor + Normalize: uint8 HWC → float32 CHW `(x/255 − mean)/std`, written into `out` at `offset`, with
 * torchvision's float32 op order. `channels` (default the image's) may be 3 for a 1-channel image: the gray
 * value is repeated, like PIL's convert("RGB").
 */
export function toNormalizedChw(
  img: RgbImage,
  mean: readonly number[],
  std: readonly number[],
  out: Float32Array,
  offset = 0,
  channels = channelsOf(img),
): void {
  const src = channelsOf(img);
  if (src !== channels && src !== 1)
    throw new Error(`cannot turn a ${src}-channel image into ${channels} channels`);
  if (mean.length !== channels || std.length !== channels) {
    throw new Error(`normalisation needs ${channels} means and stds, got ${mean.length} and ${std.length}`);
  }
  const plane = img.width * img.height;
  if (offset + channels * plane > out.length)
    throw new Error(`output buffer too small for a ${channels}x${img.height}x${img.width} tensor`);
  const f = Math.fround;
  for (let ch = 0; ch < channels; ch++) {
    const m = f(mean[ch]);
    const s = f(std[ch]);
    const k = src === 1 ? 0 : ch;
    const base = offset + ch * plane;
    for (let i = 0; i < plane; i++) out[base + i] = f(f(img.data[i * src + k] / 255) - m) / s;
  }
}
