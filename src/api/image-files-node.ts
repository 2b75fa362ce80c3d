/**
 * Image inputs in Node: paths and directories expanded into a sorted file list, and any input (path, encoded
 * bytes, decoded pixels) turned into an RgbImage.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { type DecodeOptions, decodeImage } from "../preprocess/decode-node.ts";
import { assertRgbImage, type RgbImage } from "../preprocess/rgb-image.ts";

/** An image as a user has it: a file path, the encoded bytes of a file, or decoded 8-bit RGB pixels. */
export type ImageInput = string | Uint8Array | RgbImage;

/**
 * Extensions picked up inside directories. BMP is listed although sharp cannot read it, so such files are
 * reported as skipped rather than silently ignored.
 */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  ".jpg",
  ".jpeg",
  ".jpe",
  ".jfif",
  ".png",
  ".webp",
  ".gif",
  ".tif",
  ".tiff",
  ".avif",
  ".bmp",
]);

export interface ListedImage {
  path: string;
  /** Named on the command line (true) or found inside a directory (false). */
  explicit: boolean;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Expands files and directories (recursively; entries starting with '.' are skipped, symlinked directories are
 * followed once) into image files, in a stable order: arguments in the order given, each directory sorted.
 * A path that does not exist is an error; a directory without images adds nothing.
 */
export async function listImageFiles(paths: readonly string[]): Promise<ListedImage[]> {
  const out: ListedImage[] = [];
  const seenDirs = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const path = join(dir, e.name);
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) isDir = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
      // An image name that is not a regular file (a pipe, a device, a broken link) is listed all the same:
      // reading it fails with a reason, and the caller reports it as skipped instead of it vanishing unsaid.
      if (isDir) await walk(path);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push({ path, explicit: false });
    }
  };
  for (const p of paths) {
    const info = await stat(p).catch((e: NodeJS.ErrnoException) => {
      throw new Error(e.code === "ENOENT" ? `${p}: no such file or directory` : `${p}: ${e.message}`);
    });
    if (info.isDirectory()) await walk(p);
    else out.push({ path: p, explicit: true });
  }
  return out;
}

function isRgbImage(x: unknown): x is RgbImage {
  return typeof x === "object" && x !== null && !(x instanceof Uint8Array) && "data" in x && "width" in x;
}

/** Name of an input in messages and results: its path, or `image <i>` for bytes and pixels. */
export function inputName(input: ImageInput, index: number): string {
  return typeof input === "string" ? input : `image ${index}`;
}

/** Decodes any input to 8-bit RGB (pixels are checked and passed through). */
export async function loadImageInput(
  input: ImageInput,
  index: number,
  opts: Omit<DecodeOptions, "name"> = {},
): Promise<RgbImage> {
  if (isRgbImage(input)) {
    assertRgbImage(input, inputName(input, index));
    return input;
  }
  if (typeof input !== "string" && !(input instanceof Uint8Array)) {
    throw new Error(`image ${index}: expected a path, encoded bytes (Uint8Array) or {data, width, height}`);
  }
  return decodeImage(input, { ...opts, name: inputName(input, index) });
}
