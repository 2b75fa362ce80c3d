/** The decoded image every preprocessing step exchanges: 8-bit RGB, interleaved, row-major (H, W, 3). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export function assertRgbImage(img: RgbImage, what = "image"): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`${what}: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${data.length}`);
  }
}
