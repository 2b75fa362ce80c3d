import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import type { SampleTransform } from "../../src/train/augment/sample-transform.ts";
import type { Batch } from "../../src/train/data/batch.ts";
import { IMAGE_EXTENSIONS, listImageFolder } from "../../src/train/data/image-folder-node.ts";
import { BatchLoader, type LoaderOptions } from "../../src/train/data/loader-node.ts";
import { imageFolderSource } from "../../src/train/data/sources-node.ts";
import { encodeRaw } from "./raw-decoder.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-loader-");

const N = 52;
const images = new Uint8Array(new SharedArrayBuffer(N * 28 * 28));
for (let i = 0; i < images.length; i++) images[i] = (i * 31 + Math.floor(i / 784) * 7) % 256;
const labels = Uint8Array.from({ length: N }, (_, i) => i % 10);

const grayTransform: SampleTransform = {
  kind: "pad-crop-flip",
  size: 32,
  pad: 4,
  mean: [0.286],
  std: [0.353],
  reprob: 0.25,
};
const base: LoaderOptions = {
  source: { kind: "arrays", images, labels, width: 28, height: 28, channels: 1 },
  transform: grayTransform,
  numClasses: 10,
  mixup: { mixupAlpha: 0.8, cutmixAlpha: 1.0, labelSmoothing: 0.1 },
  batchSize: 8,
  seed: 17,
};

async function collect(opts: LoaderOptions, start = { epoch: 0, batch: 0 }, endEpoch = 2): Promise<Batch[]> {
  const loader = new BatchLoader(opts);
  const out: Batch[] = [];
  try {
    for await (const b of loader.batches(start, endEpoch)) out.push(b);
  } finally {
    await loader.close();
  }
  return out;
}

test("identical batches with 0, 1 and 2 workers; epochs reshuffle and cover every sample once", async () => {
  const inline = await collect({ ...base, workers: 0 });
  const one = await collect({ ...base, workers: 1 });
  const two = await collect({ ...base, workers: 2, prefetch: 3 });
  assert.equal(inline.length, 2 * Math.floor(N / 8));
  assert.deepEqual(one, inline);
  assert.deepEqual(two, inline);
  const b = inline[0];
  assert.deepEqual(b.dims, [8, 1, 32, 32]);
  assert.equal(b.targets.length, 8 * 10);
  for (let i = 0; i < 8; i++) {
    const row = b.targets.subarray(i * 10, i * 10 + 10);
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
  }
  const epochLabels = (e: number) => inline.filter((x) => x.epoch === e).flatMap((x) => Array.from(x.labels));
  assert.notDeepEqual(epochLabels(0), epochLabels(1));
  assert.equal(epochLabels(0).length, 48, "drop_last: 52 samples make 6 batches of 8");
});

test("a resumed iteration continues with the same batches", async () => {
  const full = await collect({ ...base, workers: 1 });
  const resumed = await collect({ ...base, workers: 1 }, { epoch: 1, batch: 2 });
  assert.deepEqual(resumed, full.slice(6 + 2));
  assert.equal(resumed[0].epoch, 1);
  assert.equal(resumed[0].batch, 2);
});

test("different seeds give different batches; evaluation order is fixed and keeps the last batch", async () => {
  const a = await collect({ ...base, workers: 0 }, undefined, 1);
  const b = await collect({ ...base, workers: 0, seed: 18 }, undefined, 1);
  assert.notDeepEqual(a[0].x, b[0].x);
  const evalOpts: LoaderOptions = {
    ...base,
    transform: { kind: "center-pad-crop", size: 32, pad: 2, mean: [0.286], std: [0.353] },
    mixup: null,
    shuffle: false,
    workers: 0,
  };
  const ev = await collect(evalOpts, undefined, 1);
  assert.equal(ev.length, 7);
  assert.equal(ev[6].labels.length, 4);
  assert.deepEqual(
    ev.flatMap((x) => Array.from(x.labels)),
    Array.from(labels),
  );
  // no mixup, no smoothing: one-hot targets
  assert.equal(ev[0].targets[ev[0].labels[0]], 1);
});

test("image folder through workers with a decoder module: same batches for 1 and 2 workers", async () => {
  const root = join(tmp, "photos");
  for (let i = 0; i < 12; i++) {
    const cls = ["a", "b", "c"][i % 3];
    mkdirSync(join(root, cls), { recursive: true });
    const w = 40 + i * 3;
    const h = 30 + i * 2;
    const data = new Uint8Array(w * h * 3).map((_, k) => (k * (i + 3)) % 256);
    // .png only so the listing picks it up; the content is the test decoder's raw format
    writeFileSync(join(root, cls, `img${i}.png`), encodeRaw({ data, width: w, height: h }));
  }
  const folder = listImageFolder(root);
  const decoder = fileURLToPath(new URL("./raw-decoder.ts", import.meta.url));
  const opts: LoaderOptions = {
    source: imageFolderSource(folder, decoder),
    transform: {
      kind: "imagenet-train",
      size: 32,
      randAugment: "rand-m9-mstd0.5-inc1",
      reprob: 0.25,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    numClasses: 3,
    mixup: { mixupAlpha: 0.8, cutmixAlpha: 1.0, labelSmoothing: 0.1 },
    batchSize: 4,
    seed: 5,
  };
  const one = await collect({ ...opts, workers: 1 });
  const two = await collect({ ...opts, workers: 2 });
  assert.equal(one.length, 6);
  assert.deepEqual(two, one);
  assert.deepEqual(one[0].dims, [4, 3, 32, 32]);

  // An undecodable file: training batches keep their size (a spare stands in), evaluation batches shrink;
  // both name the file, and the same bad file gives the same batches again.
  writeFileSync(join(root, "a", "img0.png"), Uint8Array.of(1, 0, 1, 0, 9));
  const source = imageFolderSource(listImageFolder(root), decoder);
  const training = new BatchLoader({ ...opts, source, shuffle: false, dropLast: true, workers: 1 });
  const kept = await training.get(0, 0);
  assert.deepEqual(kept.dims, [4, 3, 32, 32]);
  assert.equal(kept.skipped?.length, 1);
  assert.match(kept.skipped?.[0].file ?? "", /img0\.png$/);
  assert.match(kept.skipped?.[0].reason ?? "", /raw/i);
  assert.ok(!kept.labels.includes(Number.NaN));
  assert.deepEqual(await training.get(0, 0), kept);
  // The other batches of the epoch are untouched.
  assert.equal((await training.get(0, 1)).skipped, undefined);
  await training.close();
  const evaluation = new BatchLoader({ ...opts, mixup: null, source, shuffle: false, workers: 0 });
  const shrunk = await evaluation.get(0, 0);
  assert.deepEqual(shrunk.dims, [3, 3, 32, 32]);
  assert.equal(shrunk.skipped?.length, 1);
  await evaluation.close();
});

test("image folder listing: a symlink loop is walked once, a dangling link is a file, an empty class is refused", () => {
  const root = join(tmp, "linked");
  for (const cls of ["a", "b"]) {
    mkdirSync(join(root, cls), { recursive: true });
    writeFileSync(join(root, cls, `${cls}.png`), "");
  }
  symlinkSync("..", join(root, "a", "up")); // a/up → the root: a loop through every class
  symlinkSync("missing.png", join(root, "b", "gone.png"));
  const folder = listImageFolder(root);
  assert.deepEqual(folder.classes, ["a", "b"]);
  // Class a: its own file, then the root's classes once through the link (a again is a loop, b is new).
  assert.deepEqual(
    folder.files.map((f) => f.slice(root.length + 1)),
    ["a/a.png", "a/up/b/b.png", "a/up/b/gone.png", "b/b.png", "b/gone.png"],
  );
  mkdirSync(join(root, "c"));
  assert.throws(() => listImageFolder(root), {
    message: `image folder ${root}: class folder 'c' holds no images (${IMAGE_EXTENSIONS.join(" ")})`,
  });
});
