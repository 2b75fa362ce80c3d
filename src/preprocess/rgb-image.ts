import { describeData } from "../tensor/host-tensor.ts";

/** The decoded image every preprocessing step exchanges: 8-bit RGB, interleaved, row-major (H, W, 3). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export function assertRgbImage(img: RgbImage, what = "image"): void {
  if (img === null || typeof img !== "object")
    throw new Error(`${what}: not an RGB image { data, width, height }`);
  const { width, height } = img;
  const data: unknown = img.data;
  // Bytes only: a Float32Array of 0-1 values read as bytes would be a black image and a confident wrong answer.
  // Uint8ClampedArray is what a canvas's getImageData gives (after dropping alpha, still clamped).
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray))
    throw new Error(`${what}: data must be RGB bytes (a Uint8Array), got ${describeData(data)}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: size must be positive integers, got ${width}x${height}`);
  }
  if (img.data.length !== width * height * 3) {
    throw new Error(
      `${what}: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${img.data.length}`,
    );
  }
}
