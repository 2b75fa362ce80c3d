// Test decoder for the loader tests: a 4-byte header (width, height as uint16 LE) followed by RGB bytes.
// Loader workers import it by path, like a real decoder module.
import type { RgbImage } from "../../src/train/augment/image.ts";

export function encodeRaw(img: RgbImage): Uint8Array {
  const out = new Uint8Array(4 + img.data.length);
  new DataView(out.buffer).setUint16(0, img.width, true);
  new DataView(out.buffer).setUint16(2, img.height, true);
  out.set(img.data, 4);
  return out;
}

export function decodeImage(bytes: Uint8Array): RgbImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint16(0, true);
  const height = view.getUint16(2, true);
  if (bytes.length !== 4 + width * height * 3)
    throw new Error(`raw image ${width}x${height} has ${bytes.length - 4} bytes`);
  return { data: bytes.slice(4), width, height };
}
