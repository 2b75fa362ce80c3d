import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  FASHION_MNIST_DIR,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  loadFashionMnist,
} from "../../src/train/data/fashion-mnist-node.ts";
import { parseIdx } from "../../src/train/data/idx.ts";
import { listImageFolder } from "../../src/train/data/image-folder-node.ts";
import { stratifiedSplit } from "../../src/train/data/split.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-data-");

function idx(dims: number[], values: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => {
    new DataView(head.buffer).setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(head.length + values.length);
  out.set(head);
  out.set(values, head.length);
  return out;
}

test("IDX parser reads dims big-endian and rejects bad files", () => {
  const a = parseIdx(idx([2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6)));
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
  assert.throws(
    () => parseIdx(idx([2, 3], Uint8Array.of(1, 2, 3)), "x.idx"),
    /x.idx: dims \[2, 3\] need 6 bytes of data, the file has 3/,
  );
  assert.throws(() => parseIdx(gzipSync(idx([1], Uint8Array.of(1)))), /not an IDX file/);
});

test("Fashion-MNIST reader: gz and plain files from any directory; clear error when missing", async () => {
  const dir = join(tmp, "fmnist");
  mkdirSync(dir);
  const images = new Uint8Array(3 * 28 * 28).map((_, i) => i % 256);
  writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([3, 28, 28], images)));
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), idx([3], Uint8Array.of(9, 0, 4)));
  const ds = await loadFashionMnist("test", dir);
  assert.equal(ds.n, 3);
  assert.deepEqual(Array.from(ds.labels), [9, 0, 4]);
  assert.deepEqual(ds.images, images);
  assert.ok(ds.images.buffer instanceof SharedArrayBuffer);
  assert.equal(ds.classes[9], "Ankle boot");
  await assert.rejects(
    loadFashionMnist("train", dir),
    /train-images-idx3-ubyte\(\.gz\) not found in .*apt-get install dataset-fashion-mnist.*--data <dir>/,
  );
  // A label past the ten classes: the file is named, with the label's place.
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), idx([3], Uint8Array.of(9, 200, 4)));
  await assert.rejects(loadFashionMnist("test", dir), {
    message: `${dir}/t10k-labels-idx1-ubyte: label 200 at 1 is not a class (0 to 9)`,
  });
});

test("gzipped IDX files inflate no further than their header says; empty dims are refused", async () => {
  const dir = join(tmp, "fmnist-hostile");
  mkdirSync(dir);
  const labels = join(dir, "t10k-labels-idx1-ubyte");
  writeFileSync(labels, idx([3], Uint8Array.of(9, 0, 4)));
  // The header says 3 images; 64 MB of zeros follow (about 64 KB of gzip).
  const images = concat(idx([3, 28, 28], new Uint8Array(3 * 28 * 28)), new Uint8Array(64 * 2 ** 20));
  writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(images));
  const rssBefore = process.memoryUsage().rss;
  await assert.rejects(
    loadFashionMnist("test", dir),
    /t10k-images-idx3-ubyte\.gz: the gzip data inflates to more than the 2368 bytes its IDX header says/,
  );
  assert.ok(process.memoryUsage().rss - rssBefore < 32 * 2 ** 20, "stopped at the header's size");
  writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([3, 0, 0], new Uint8Array(0))));
  await assert.rejects(
    loadFashionMnist("test", dir),
    /t10k-images-idx3-ubyte\.gz: IDX dims \[3, 0, 0\] hold no values/,
  );
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

test("a stratified split of a million samples of one class", () => {
  const { train, val } = stratifiedSplit(new Uint8Array(1_000_000), 0.1, 1);
  assert.equal(val.length, 100_000);
  assert.equal(train.length, 900_000);
});

const haveFmnist = existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));

test("Fashion-MNIST: 60000/10000 images, 6000/1000 per class, mean/std constants", {
  skip: !haveFmnist && "apt-get install dataset-fashion-mnist to run",
}, async () => {
  for (const [split, n] of [
    ["train", 60000],
    ["test", 10000],
  ] as const) {
    const ds = await loadFashionMnist(split);
    assert.equal(ds.n, n);
    assert.equal(ds.images.length, n * 28 * 28);
    assert.equal(ds.width, 28);
    const hist = new Array(10).fill(0);
    for (const l of ds.labels) hist[l]++;
    assert.deepEqual(hist, new Array(10).fill(n / 10));
    if (split === "train") {
      let s = 0;
      let s2 = 0;
      for (const v of ds.images) {
        s += v / 255;
        s2 += (v / 255) ** 2;
      }
      const mean = s / ds.images.length;
      assert.ok(Math.abs(mean - FASHION_MNIST_MEAN) < 1e-3, `mean ${mean}`);
      assert.ok(Math.abs(Math.sqrt(s2 / ds.images.length - mean * mean) - FASHION_MNIST_STD) < 1e-3);
    }
  }
});

test("image folder: sorted class folders, recursive listing by extension", () => {
  const root = join(tmp, "folder");
  for (const [rel, body] of [
    ["zebra/a.jpg", "x"],
    ["cat/sub/b.PNG", "x"],
    ["cat/a.jpeg", "x"],
    ["cat/notes.txt", "x"],
    ["dog/c.webp", "x"],
    [".hidden/d.jpg", "x"],
  ]) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
  const f = listImageFolder(root);
  assert.deepEqual(f.classes, ["cat", "dog", "zebra"]);
  assert.deepEqual(
    f.files.map((p) => p.slice(root.length + 1)),
    ["cat/a.jpeg", "cat/sub/b.PNG", "dog/c.webp", "zebra/a.jpg"],
  );
  assert.deepEqual(Array.from(f.labels), [0, 0, 1, 2]);
  assert.throws(() => listImageFolder(join(tmp, "nope")), /cannot be read/);
});

test("stratified split: seeded, disjoint, complete, per-class fraction", () => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);
  const a = stratifiedSplit(labels, 0.2, 1);
  const b = stratifiedSplit(labels, 0.2, 1);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.val, stratifiedSplit(labels, 0.2, 2).val);
  assert.equal(a.val.length, 200);
  const all = [...a.train, ...a.val].sort((x, y) => x - y);
  assert.deepEqual(
    all,
    Array.from({ length: 1000 }, (_, i) => i),
  );
  const perClass = new Array(10).fill(0);
  for (const i of a.val) perClass[labels[i]]++;
  assert.deepEqual(perClass, new Array(10).fill(20));
});
