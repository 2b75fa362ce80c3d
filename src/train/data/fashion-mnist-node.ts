/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 28×28 grayscale clothing images in 10 classes, read from
 * the four IDX files (gzipped or plain). Debian's `dataset-fashion-mnist` package installs them under
 * /usr/share/datasets/fashion-mnist.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseIdx } from "./idx.ts";

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Class i is label i (from the data set's README). */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

/** Pixel mean and std of the training images on the 0..1 scale, for normalisation. */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

export interface FashionMnist {
  /** n × 28 × 28 bytes, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  width: number;
  height: number;
  classes: string[];
}

function readIdxFile(dir: string, stem: string): Uint8Array {
  for (const [name, gz] of [
    [`${stem}.gz`, true],
    [stem, false],
  ] as const) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const raw = readFileSync(path);
    return new Uint8Array(gz ? gunzipSync(raw) : raw);
  }
  throw new Error(
    `Fashion-MNIST file ${stem}(.gz) not found in ${dir}: install it with \`apt-get install dataset-fashion-mnist\` or pass --data <dir> holding the four idx files`,
  );
}

/**
 * Reads the training (60,000) or test (10,000) split. With `shared` (default) the images live in a
 * SharedArrayBuffer, so loader workers read them without a copy.
 */
export function loadFashionMnist(
  split: "train" | "test",
  dir = FASHION_MNIST_DIR,
  shared = true,
): FashionMnist {
  const prefix = split === "train" ? "train" : "t10k";
  const images = parseIdx(
    readIdxFile(dir, `${prefix}-images-idx3-ubyte`),
    `${dir}/${prefix}-images-idx3-ubyte`,
  );
  const labels = parseIdx(
    readIdxFile(dir, `${prefix}-labels-idx1-ubyte`),
    `${dir}/${prefix}-labels-idx1-ubyte`,
  );
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new Error(
      `Fashion-MNIST ${split} in ${dir}: images [${images.dims}] and labels [${labels.dims}] do not match`,
    );
  }
  const [n, height, width] = images.dims;
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= FASHION_MNIST_CLASSES.length)
      throw new Error(`Fashion-MNIST ${split}: label ${labels.data[i]} at ${i} is not a class`);
  }
  const copy = (src: Uint8Array) => {
    if (!shared) return src;
    const dst = new Uint8Array(new SharedArrayBuffer(src.length));
    dst.set(src);
    return dst;
  };
  return {
    images: copy(images.data),
    labels: copy(labels.data),
    n,
    width,
    height,
    classes: [...FASHION_MNIST_CLASSES],
  };
}
