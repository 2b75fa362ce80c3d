/**
 * What `--data` names, turned into sample sources: `fashion-mnist` (Debian's dataset-fashion-mnist, else
 * downloaded into the cache: data/fashion-mnist-fetch-node.ts), a folder
 * holding IDX files (Fashion-MNIST / MNIST format), or an image-classification folder (one sub-folder per
 * class; with `train/` and `val/` inside, those are the splits). Without a validation folder, a seeded,
 * stratified share of the training samples is held out.
 */

import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeImage } from "../preprocess/decode-node.ts";
import { siblingModule } from "../runtime/spawn-worker-node.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "./augment/sample-transform.ts";
import { type FashionMnistFetchOptions, fashionMnistDir } from "./data/fashion-mnist-fetch-node.ts";
import {
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnist,
  loadFashionMnist,
} from "./data/fashion-mnist-node.ts";
import { type ImageFolder, listImageFolder } from "./data/image-folder-node.ts";
import { fashionMnistSource, imageFolderSource, type SourceSpec } from "./data/sources-node.ts";
import { stratifiedSplit } from "./data/split.ts";

/** Images up to this side count as small: they are padded, never resized (pad-crop-flip). */
export const SMALL_IMAGE_MAX = 64;

/** The decoder loader workers import for image files (sharp, PIL's `convert('RGB')` values). */
export const IMAGE_DECODER_MODULE = fileURLToPath(
  siblingModule("../preprocess/decode-node", import.meta.url),
);

export interface DatasetFacts {
  /** "idx" (Fashion-MNIST format) or an image "folder". */
  kind: "idx" | "folder";
  /** Resolved directory. */
  root: string;
  /** Class names; label i = classes[i]. */
  classes: string[];
  /** Channels the images have for the model: 1 (IDX grey) or 3 (decoded RGB). */
  channels: 1 | 3;
  mean: number[];
  std: number[];
  /** Short side of the stored images when they are at most SMALL_IMAGE_MAX, else null (photos). */
  smallImageSize: number | null;
}

export interface SplitSource {
  source: SourceSpec;
  /** Sample indices of this split in `source`; all when absent. */
  indices?: Int32Array;
  size: number;
}

export interface TrainingData extends DatasetFacts {
  train: SplitSource;
  /** Validation samples, or null with --val-split 0 and no val folder. */
  val: SplitSource | null;
  /** Where the validation samples come from. */
  valFrom: "folder" | "split" | "none";
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function hasIdx(dir: string, prefix: "train" | "t10k"): boolean {
  const stem = `${prefix}-images-idx3-ubyte`;
  return existsSync(join(dir, stem)) || existsSync(join(dir, `${stem}.gz`));
}

/**
 * Resolves `--data`: the name `fashion-mnist` (fetched when it is not installed), a directory of IDX files, or
 * an image folder.
 */
export async function locateDataset(
  data: string,
  fetch: FashionMnistFetchOptions = {},
): Promise<{ kind: "idx" | "folder"; root: string }> {
  if (data === "fashion-mnist") return { kind: "idx", root: await fashionMnistDir(fetch) };
  const root = resolve(data);
  if (!isDir(root))
    throw new Error(`--data ${data}: not a directory (expected fashion-mnist, IDX files or an image folder)`);
  if (hasIdx(root, "train") || hasIdx(root, "t10k")) return { kind: "idx", root };
  return { kind: "folder", root };
}

function idxFacts(root: string, ds: FashionMnist): DatasetFacts {
  if (ds.width !== ds.height)
    throw new Error(`${root}: IDX images are ${ds.width}x${ds.height}; only square images are supported`);
  return {
    kind: "idx",
    root,
    classes: ds.classes,
    channels: 1,
    mean: [FASHION_MNIST_MEAN],
    std: [FASHION_MNIST_STD],
    smallImageSize: ds.width,
  };
}

/** Images tried, in listing order, to find one that decodes: undecodable files are skipped by the loader. */
const PROBE_TRIES = 20;

/**
 * The short side of the first decodable image when the image is small (decoding one image is the cheap way to
 * know): the side the evaluation resize keeps as it is.
 */
async function probeSmallSize(folder: ImageFolder): Promise<number | null> {
  const tried = folder.files.slice(0, PROBE_TRIES);
  let firstError = "";
  for (const file of tried) {
    try {
      const img = await decodeImage(file);
      return Math.max(img.width, img.height) <= SMALL_IMAGE_MAX ? Math.min(img.width, img.height) : null;
    } catch (e) {
      firstError ||= (e as Error).message;
    }
  }
  throw new Error(
    `image folder ${folder.root}: none of the first ${tried.length} images could be decoded (${firstError})`,
  );
}

function folderFacts(root: string, classes: string[], small: number | null): DatasetFacts {
  return {
    kind: "folder",
    root,
    classes,
    channels: 3,
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    smallImageSize: small,
  };
}

function sameClasses(train: ImageFolder, val: ImageFolder): void {
  if (train.classes.join("\n") === val.classes.join("\n")) return;
  const missing = train.classes.filter((c) => !val.classes.includes(c));
  const extra = val.classes.filter((c) => !train.classes.includes(c));
  throw new Error(
    `${val.root}: classes differ from ${train.root} (${train.classes.length} vs ${val.classes.length}; ` +
      `missing [${missing.slice(0, 5).join(", ")}], extra [${extra.slice(0, 5).join(", ")}])`,
  );
}

function splitOf(
  source: SourceSpec,
  labels: ArrayLike<number>,
  valSplit: number,
  seed: number,
): { train: SplitSource; val: SplitSource | null } {
  if (valSplit === 0) return { train: { source, size: labels.length }, val: null };
  const { train, val } = stratifiedSplit(labels, valSplit, seed);
  if (val.length === 0) throw new Error(`--val-split ${valSplit} holds out no sample of ${labels.length}`);
  return {
    train: { source, indices: train, size: train.length },
    val: { source, indices: val, size: val.length },
  };
}

/** The training data `--data` names, with its validation samples. */
export async function openTrainingData(
  data: string,
  opts: { valSplit: number; seed: number; fetch?: FashionMnistFetchOptions },
): Promise<TrainingData> {
  const { kind, root } = await locateDataset(data, opts.fetch);
  if (kind === "idx") {
    const ds = await loadFashionMnist("train", root);
    const { train, val } = splitOf(fashionMnistSource(ds), ds.labels, opts.valSplit, opts.seed);
    return { ...idxFacts(root, ds), train, val, valFrom: val ? "split" : "none" };
  }
  if (isDir(join(root, "train")) && isDir(join(root, "val"))) {
    const trainFolder = listImageFolder(join(root, "train"));
    const valFolder = listImageFolder(join(root, "val"));
    sameClasses(trainFolder, valFolder);
    return {
      ...folderFacts(root, trainFolder.classes, await probeSmallSize(trainFolder)),
      train: { source: imageFolderSource(trainFolder, IMAGE_DECODER_MODULE), size: trainFolder.files.length },
      val: { source: imageFolderSource(valFolder, IMAGE_DECODER_MODULE), size: valFolder.files.length },
      valFrom: "folder",
    };
  }
  const folder = listImageFolder(root);
  const source = imageFolderSource(folder, IMAGE_DECODER_MODULE);
  const { train, val } = splitOf(source, folder.labels, opts.valSplit, opts.seed);
  return {
    ...folderFacts(root, folder.classes, await probeSmallSize(folder)),
    train,
    val,
    valFrom: val ? "split" : "none",
  };
}

/** 8-bit RGB pixels (the shape the evaluation preprocessing takes). */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface EvalData {
  kind: "idx" | "folder";
  /** The directory evaluated. */
  root: string;
  classes: string[];
  /** Image file paths, or decoded pixels (IDX grey repeated to RGB, as PIL's convert('RGB')). */
  images: (string | RgbPixels)[];
  labels: Int32Array;
}

/** The evaluation set `--data` names: the IDX test split, a folder's `val/`, or the folder itself. */
export async function openEvalData(data: string, fetch: FashionMnistFetchOptions = {}): Promise<EvalData> {
  const { kind, root } = await locateDataset(data, fetch);
  if (kind === "idx") {
    const ds = await loadFashionMnist("test", root, false);
    const plane = ds.width * ds.height;
    const images = Array.from({ length: ds.n }, (_, i) => {
      const rgb = new Uint8Array(plane * 3);
      for (let p = 0; p < plane; p++) rgb.fill(ds.images[i * plane + p], p * 3, p * 3 + 3);
      return { data: rgb, width: ds.width, height: ds.height };
    });
    return { kind, root, classes: ds.classes, images, labels: Int32Array.from(ds.labels) };
  }
  const dir = isDir(join(root, "val")) && isDir(join(root, "train")) ? join(root, "val") : root;
  const folder = listImageFolder(dir);
  return { kind, root: dir, classes: folder.classes, images: folder.files, labels: folder.labels };
}
