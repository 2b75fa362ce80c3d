/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 28×28 grayscale clothing images in 10 classes, read from
 * the four IDX files (gzipped or plain). Debian's `dataset-fashion-mnist` package installs them under
 * /usr/share/datasets/fashion-mnist.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { formatBytes, LIMITS } from "../../tensor/limits.ts";
import { readBoundedFile } from "../../tensor/read-file-node.ts";
import { parseIdx, readIdxHeader } from "./idx.ts";

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

async function readIdxFile(dir: string, stem: string, shared: boolean): Promise<Uint8Array> {
  for (const [name, gz] of [
    [`${stem}.gz`, true],
    [stem, false],
  ] as const) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const raw = await readBoundedFile(path, { maxBytes: LIMITS.maxDataFileBytes, what: "IDX file" });
    return gz ? await gunzipIdx(raw, path, shared) : raw;
  }
  throw new Error(
    `Fashion-MNIST file ${stem}(.gz) not found in ${dir}: install it with \`apt-get install dataset-fashion-mnist\` or pass --data <dir> holding the four idx files`,
  );
}

/**
 * Inflates a gzipped IDX file no further than its header says it holds: a few megabytes of gzip can inflate to
 * gigabytes, which a one-shot gunzip would hold in memory before anything could check them.
 */
async function gunzipIdx(gz: Uint8Array, path: string, shared: boolean): Promise<Uint8Array> {
  const inflate = createGunzip();
  inflate.end(gz);
  let head: Uint8Array = new Uint8Array(0);
  let out: Uint8Array | undefined;
  let at = 0;
  try {
    for await (const chunk of inflate as AsyncIterable<Uint8Array>) {
      if (!out) {
        head = concatBytes(head, chunk);
        const header = readIdxHeader(head, path, false);
        if (!header) continue;
        if (header.totalLen > LIMITS.maxDataFileBytes)
          throw new Error(
            `${path}: IDX dims [${header.dims.join(", ")}] need ${formatBytes(header.totalLen)}, over the limit of ${formatBytes(LIMITS.maxDataFileBytes)}`,
          );
        // Straight into shared memory when the loader workers will read it: no second copy of a large set.
        out = shared
          ? new Uint8Array(new SharedArrayBuffer(header.totalLen))
          : new Uint8Array(header.totalLen);
        if (head.length > out.length) throw tooLong(path, out.length);
        out.set(head);
        at = head.length;
        continue;
      }
      if (at + chunk.length > out.length) throw tooLong(path, out.length);
      out.set(chunk, at);
      at += chunk.length;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code?.startsWith("Z_"))
      throw new Error(`${path}: corrupt gzip data (${(e as Error).message})`);
    throw e;
  } finally {
    inflate.destroy();
  }
  if (!out) return head; // parseIdx names what is missing
  if (at !== out.length)
    throw new Error(`${path}: the header says ${out.length} bytes, the gzip data inflates to ${at}`);
  return out;
}

function tooLong(path: string, declared: number): Error {
  return new Error(`${path}: the gzip data inflates to more than the ${declared} bytes its IDX header says`);
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

/**
 * Reads the training (60,000) or test (10,000) split. With `shared` (default) the images live in a
 * SharedArrayBuffer, so loader workers read them without a copy.
 */
export async function loadFashionMnist(
  split: "train" | "test",
  dir = FASHION_MNIST_DIR,
  shared = true,
): Promise<FashionMnist> {
  const prefix = split === "train" ? "train" : "t10k";
  const images = parseIdx(
    await readIdxFile(dir, `${prefix}-images-idx3-ubyte`, shared),
    `${dir}/${prefix}-images-idx3-ubyte`,
  );
  const labelsFile = `${dir}/${prefix}-labels-idx1-ubyte`;
  const labels = parseIdx(await readIdxFile(dir, `${prefix}-labels-idx1-ubyte`, shared), labelsFile);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new Error(
      `Fashion-MNIST ${split} in ${dir}: images [${images.dims}] and labels [${labels.dims}] do not match`,
    );
  }
  const [n, height, width] = images.dims;
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= FASHION_MNIST_CLASSES.length)
      throw new Error(
        `${labelsFile}: label ${labels.data[i]} at ${i} is not a class (0 to ${FASHION_MNIST_CLASSES.length - 1})`,
      );
  }
  const copy = (src: Uint8Array) => {
    if (!shared || src.buffer instanceof SharedArrayBuffer) return src;
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
