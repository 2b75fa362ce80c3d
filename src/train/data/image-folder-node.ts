/**
 * An image-classification folder: one sub-folder per class (class index = position of the folder name in
 * sorted order, as torchvision's ImageFolder), images found recursively below each. Only the listing lives
 * here; decoding is a function the caller passes in, so this file does not tie training to one decoder.
 */

import { type Dirent, readdirSync, realpathSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { RgbImage } from "../augment/image.ts";
import { LIMITS } from "../../tensor/limits.ts";
import { readBoundedFile } from "../../tensor/read-file-node.ts";

export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif"];

export interface ImageFolder {
  root: string;
  /** Sorted class folder names; label i = classes[i]. */
  classes: string[];
  /** Absolute file paths, grouped by class, sorted within a class. */
  files: string[];
  labels: Int32Array;
}

/** Files below `dir`, symlinked folders followed once each: a link back up (a loop) is not walked again. */
function listRecursive(
  dir: string,
  exts: ReadonlySet<string>,
  out: string[],
  seen = new Set<string>(),
): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const path = join(dir, entry.name);
    if (isFolder(entry, path)) listRecursive(path, exts, out, seen);
    else if (exts.has(extname(entry.name).toLowerCase())) out.push(path);
  }
}

/** A folder, or a symlink to one; a dangling symlink is neither (its reader reports it as a file). */
function isFolder(entry: Dirent, path: string): boolean {
  return (
    entry.isDirectory() ||
    (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
  );
}

export function listImageFolder(root: string, extensions: readonly string[] = IMAGE_EXTENSIONS): ImageFolder {
  let entries: string[];
  try {
    entries = readdirSync(root, { withFileTypes: true })
      .filter((e) => !e.name.startsWith(".") && isFolder(e, join(root, e.name)))
      .map((e) => e.name);
  } catch (err) {
    throw new Error(`image folder ${root} cannot be read: ${(err as Error).message}`);
  }
  const classes = entries.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length === 0)
    throw new Error(`image folder ${root} has no class sub-folders (expected ${root}/<class>/<image>)`);
  const exts = new Set(extensions.map((e) => e.toLowerCase()));
  const files: string[] = [];
  const labels: number[] = [];
  const empty: string[] = [];
  classes.forEach((name, label) => {
    const found: string[] = [];
    listRecursive(join(root, name), exts, found);
    if (found.length === 0) empty.push(name);
    for (const f of found) {
      files.push(f);
      labels.push(label);
    }
  });
  if (files.length === 0)
    throw new Error(
      `image folder ${root}: no images with extensions ${extensions.join(" ")} in ${classes.length} class folders`,
    );
  // As torchvision's ImageFolder: a class with no image would still get a label and an output, never trained.
  if (empty.length)
    throw new Error(
      `image folder ${root}: class folder${empty.length > 1 ? "s" : ""} ${empty.map((e) => `'${e}'`).join(", ")} hold${empty.length > 1 ? "" : "s"} no images (${extensions.join(" ")})`,
    );
  return { root, classes, files, labels: Int32Array.from(labels) };
}

/** Decoder the caller supplies: encoded bytes → 8-bit RGB. */
export type ImageDecoder = (bytes: Uint8Array) => RgbImage | Promise<RgbImage>;

/** Why a sample could not be loaded, with the file and the reason apart (for `skipped <file>: <reason>`). */
export class SampleLoadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    verb: "read" | "decode",
  ) {
    super(`cannot ${verb} ${file}: ${reason}`);
  }
}

/** Reads and decodes sample `index`; a failure names the file. */
export async function loadFolderImage(
  folder: Pick<ImageFolder, "files">,
  index: number,
  decode: ImageDecoder,
): Promise<RgbImage> {
  const path = folder.files[index];
  if (path === undefined) throw new Error(`image index ${index} is outside 0..${folder.files.length - 1}`);
  let bytes: Uint8Array;
  try {
    bytes = await readBoundedFile(path, { maxBytes: LIMITS.maxImageBytes, what: "image" });
  } catch (err) {
    // The bounded reader's messages start with the path.
    throw new SampleLoadError(path, (err as Error).message.replace(`${path}: `, ""), "read");
  }
  try {
    return await decode(bytes);
  } catch (err) {
    throw new SampleLoadError(path, (err as Error).message, "decode");
  }
}
