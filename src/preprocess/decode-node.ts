/**
 * Image file → 8-bit RGB pixels in Node, with sharp (libvips), giving the values PIL's
 * `Image.open(f).convert('RGB')` gives (what timm and torchvision feed their models):
 * - ICC profiles are ignored (`ignoreIcc`): PIL uses pixel values as stored, sharp would otherwise convert to
 *   sRGB through the embedded profile (up to 55 levels of difference on rocket.jpg).
 * - EXIF orientation is not applied unless asked (`exifRotate`), as PIL does not apply it on open — except in
 *   TIFF, whose Orientation tag PIL applies while loading (TiffImagePlugin `load_end`), so we do too. Like
 *   PIL's `getexif()`, an XMP packet's `tiff:Orientation` counts when the EXIF has no orientation.
 * - Grey → R=G=B; palette → its colours; alpha (and palette transparency) is dropped, not composited.
 * - 16-bit samples follow PIL's modes: 16-bit grey opens as 'I;16' and convert('RGB') SATURATES it
 *   (min(v, 255), Convert.c `I16_RGB`); 16-bit RGB(A) and grey+alpha keep the high byte (v >> 8).
 * - CMYK follows PIL's naive `cmyk2rgb` (no colour management), see `cmykToRgb`.
 * - Limits (tensor/limits.ts) are checked on the header before any pixel is decoded: the pixel count, the aspect
 *   ratio (a 1,000,000x1 PNG is under the pixel limit but its resize is not), and the format, against the
 *   formats PIL would open for a classifier. sharp picks the decoder from the content, not the name, so an SVG
 *   (a blur filter costs minutes and gigabytes at any size) named .png is still refused.
 * - A GIF's transparent index takes its palette colour, as in PIL (libvips would give it alpha 0 and black).
 */
import sharp, { type Metadata, type OutputInfo, type Sharp } from "sharp";
import { gifTransparentColour } from "./gif-transparent-colour.ts";
import type { RgbImage } from "./rgb-image.ts";
import { checkLimit, LIMITS } from "../tensor/limits.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";

/** PIL's `Image.MAX_IMAGE_PIXELS` (PIL warns above it and refuses above twice as many; we refuse above it). */
export const DEFAULT_MAX_PIXELS = LIMITS.maxPixels;

/**
 * What no raised limit lifts: an RGBA buffer of 2^31 bytes. A 50000² PNG with the limit raised past it ended in
 * libvips corrupting its heap (`malloc_consolidate(): invalid chunk size`, the process aborted) after 42 s.
 */
export const DECODER_MAX_PIXELS = Math.floor((2 ** 31 - 1) / 4);

/** The formats (as sharp names them after sniffing the content) PIL opens too; no vector or document formats. */
const ALLOWED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif", "jp2k", "bmp"]);

export interface DecodeOptions {
  /** Apply the EXIF orientation (PIL's `ImageOps.exif_transpose`). Default false, as PIL on open (TIFF: always). */
  exifRotate?: boolean;
  /** Refuse images with more pixels than this (checked from the header). Default DEFAULT_MAX_PIXELS; NaN refused. */
  maxPixels?: number;
  /** Name used in error messages when decoding bytes (a path names itself). */
  name?: string;
}

/** One line out of libvips' multi-line, repetitive messages. */
function oneLine(message: string): string {
  const lines = [...new Set(message.split("\n").map((l) => l.trim()))].filter(Boolean);
  return lines.join("; ");
}

/** PIL Convert.c `cmyk2rgb`: out = CLIP8(nk - MULDIV255(c, nk)) with nk = 255 - k. */
export function cmykToRgb(cmyk: Uint8Array): Uint8Array {
  const n = cmyk.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const tmp = cmyk[i * 4 + c] * nk + 128;
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[i * 3 + c] = Math.max(v, 0);
    }
  }
  return out;
}

/** PIL's 16 → 8 bit rule: 'I;16' grey saturates, every other 16-bit mode keeps the high byte. */
export function sixteenBitToRgb(samples: Uint16Array, channels: 1 | 3, grey16Saturates: boolean): Uint8Array {
  const n = samples.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = samples[i * channels + (channels === 1 ? 0 : c)];
      out[i * 3 + c] = grey16Saturates ? Math.min(v, 255) : v >> 8;
    }
  }
  return out;
}

async function readInput(input: Uint8Array | string): Promise<Uint8Array> {
  if (typeof input !== "string") return input;
  return readBoundedFile(input, { maxBytes: LIMITS.maxImageBytes, what: "image" });
}

/** Why the header's facts rule the image out, or undefined. */
function headerProblem(meta: Metadata, maxPixels: number): string | undefined {
  const { width, height, format } = meta;
  if (!ALLOWED_FORMATS.has(format))
    return `${format} images are not accepted (${[...ALLOWED_FORMATS].join(", ")} are)`;
  if (!width || !height) return "not an image (no dimensions in the header)";
  if (width * height > maxPixels) {
    return `${width}x${height} = ${width * height} pixels exceeds the limit of ${maxPixels} (decompression-bomb guard; raise maxPixels to allow it)`;
  }
  if (width * height > DECODER_MAX_PIXELS)
    return `${width}x${height} = ${width * height} pixels is more than the decoder can hold (${DECODER_MAX_PIXELS})`;
  const ratio = Math.max(width / height, height / width);
  if (ratio > LIMITS.maxAspectRatio) {
    return `${width}x${height} has an aspect ratio of ${Math.round(ratio)}:1, over the limit of ${LIMITS.maxAspectRatio}:1`;
  }
  return undefined;
}

/**
 * Decodes JPEG, PNG (grey, palette, 16-bit, alpha), WebP, GIF (first frame), TIFF (first page), AVIF and the
 * other formats sharp reads, into 8-bit RGB as PIL's `convert('RGB')` gives it.
 */
export async function decodeImage(input: Uint8Array | string, opts: DecodeOptions = {}): Promise<RgbImage> {
  const name = typeof input === "string" ? input : (opts.name ?? "image");
  const maxPixels = checkLimit("maxPixels", opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  const bytes = await readInput(input);
  if (bytes.length === 0) throw new Error(`${name}: empty file`);

  // failOn 'error': refuse truncated or corrupt data as PIL does, but accept what libjpeg/libpng only warn
  // about (PIL decodes those files too).
  const base = { failOn: "error", ignoreIcc: true, limitInputPixels: false } as const;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, base).metadata();
  } catch (err) {
    const msg = oneLine((err as Error).message);
    const what = /unsupported image format/i.test(msg) ? "not an image" : "corrupt or truncated image";
    throw new Error(`${name}: ${what} (${msg})`);
  }
  const problem = headerProblem(meta, maxPixels);
  if (problem) throw new Error(`${name}: ${problem}`);

  // sharp's own limit backs up the header check (an integer: 0 or false there would mean "no limit").
  const limitInputPixels = Math.max(1, Math.floor(Math.min(maxPixels, DECODER_MAX_PIXELS)));
  const autoOrient = (opts.exifRotate ?? false) || meta.format === "tiff";
  let image = sharp(bytes, { ...base, limitInputPixels, autoOrient });
  // libvips orients by EXIF only; PIL's exif_transpose also reads the XMP packet.
  if (opts.exifRotate && meta.orientation === undefined) image = orient(image, xmpOrientation(meta.xmp));
  try {
    let data: Uint8Array;
    let info: OutputInfo;
    const transparentColour =
      meta.format === "gif" && meta.hasAlpha ? gifTransparentColour(bytes) : undefined;
    if (meta.space === "cmyk") {
      // Keep the stored CMYK (libvips would colour-manage it) and convert as PIL does.
      const r = await image
        .pipelineColourspace("cmyk")
        .toColourspace("cmyk")
        .raw()
        .toBuffer({ resolveWithObject: true });
      data = cmykToRgb(r.data);
      info = r.info;
    } else if (meta.depth === "ushort") {
      const grey = (meta.channels ?? 3) <= 2;
      const r = await image
        .removeAlpha()
        .toColourspace(grey ? "grey16" : "rgb16")
        .raw({ depth: "ushort" })
        .toBuffer({ resolveWithObject: true });
      // A Uint16Array view needs an even byte offset; copy in the rare case it is odd.
      const bytes16 = r.data.byteOffset % 2 === 0 ? r.data : new Uint8Array(r.data);
      const samples = new Uint16Array(bytes16.buffer, bytes16.byteOffset, bytes16.byteLength / 2);
      // PIL opens 16-bit grey+alpha as RGBA (high bytes); only plain 16-bit grey becomes the saturating 'I;16'.
      data = sixteenBitToRgb(samples, grey ? 1 : 3, meta.channels === 1);
      info = r.info;
    } else if (transparentColour) {
      const r = await image.toColourspace("srgb").ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      data = paintTransparent(r.data, transparentColour);
      info = { ...r.info, channels: 3 };
    } else {
      const r = await image.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
      if (r.info.channels !== 3) throw new Error(`decoded to ${r.info.channels} channels, expected 3`);
      data = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      info = r.info;
    }
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`${name}: corrupt or truncated image (${oneLine((err as Error).message)})`);
  }
}

/** `tiff:Orientation` of an XMP packet, matched as PIL's `Image.getexif()` does (attribute or element form). */
// Typed as Uint8Array (sharp hands a Buffer): the published declarations must not need Node's global types.
export function xmpOrientation(xmp: Uint8Array | undefined): number | undefined {
  const text = xmp && Buffer.from(xmp.buffer, xmp.byteOffset, xmp.byteLength).toString("latin1");
  const match = text && /tiff:Orientation(="|>)([0-9])/.exec(text);
  return match ? Number(match[2]) : undefined;
}

/**
 * The pipeline with EXIF orientation `o` undone (PIL's transpose methods). sharp mirrors before it rotates,
 * whatever the call order: transpose (5) = mirror, then rotate 270°; transverse (7) = mirror, then rotate 90°.
 */
function orient(image: Sharp, o: number | undefined): Sharp {
  switch (o) {
    case 2:
      return image.flop();
    case 3:
      return image.rotate(180);
    case 4:
      return image.flip();
    case 5:
      return image.flop().rotate(270);
    case 6:
      return image.rotate(90);
    case 7:
      return image.flop().rotate(90);
    case 8:
      return image.rotate(270);
    default:
      return image;
  }
}

/** RGBA → RGB, with the fully transparent pixels (a GIF's transparent index) given `colour`. */
function paintTransparent(rgba: Uint8Array, colour: [number, number, number]): Uint8Array {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const transparent = rgba[4 * i + 3] === 0;
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = transparent ? colour[c] : rgba[4 * i + c];
  }
  return rgb;
}
