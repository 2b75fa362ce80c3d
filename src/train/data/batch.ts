/**
 * Builds one training batch from decoded samples. Every random draw comes from a generator keyed by
 * (seed, epoch, sample index) or (seed, epoch, batch index), never from a stream shared between samples, so a
 * batch is the same whichever worker builds it, in whatever order, and after a resume.
 *
 * A sample that cannot be loaded (an undecodable or vanished image file) is reported in the batch's `skipped`
 * and either replaced by the next loadable spare the key lists (training: the step graph has a fixed batch size)
 * or dropped (evaluation: the batch shrinks). Spares are data-set indices chosen by the loader from the epoch
 * order, so the replacement is as deterministic as the rest: the same bad files give the same batches.
 */

import { mixupBatch, type MixupOptions, mixupTarget } from "../augment/mixup.ts";
import type { RgbImage } from "../augment/image.ts";
import { applySampleTransform, type SampleTransform, transformShape } from "../augment/sample-transform.ts";
import { Rng } from "../rng.ts";

/** Stream tags that keep the per-purpose generators apart. */
export const STREAM = { order: 1, sample: 2, mix: 3 } as const;

export interface BatchSpec {
  transform: SampleTransform;
  numClasses: number;
  /** Mixup/CutMix per batch (its label smoothing included); null = none. */
  mixup?: Omit<MixupOptions, "numClasses"> | null;
  /** Label smoothing of the soft targets when there is no mixup (default 0). */
  labelSmoothing?: number;
}

export interface BatchKey {
  seed: number;
  epoch: number;
  /** Position of the batch in its epoch. */
  batch: number;
  /** Data-set index of each sample. */
  indices: ArrayLike<number>;
  /** Stand-ins, in order, for samples that cannot be loaded; without them such samples are dropped. */
  spares?: ArrayLike<number>;
}

/** A sample that could not be loaded. */
export interface SkippedSample {
  index: number;
  /** The file, when the source has files. */
  file: string;
  reason: string;
}

export interface Batch {
  epoch: number;
  batch: number;
  /** N×C×H×W, normalised (and mixed). */
  x: Float32Array;
  dims: [number, number, number, number];
  labels: Int32Array;
  /** N × classes soft targets (smoothed one-hot, or the mixup targets). */
  targets: Float32Array;
  /** Samples of this batch that could not be loaded (replaced or dropped), spares tried included. */
  skipped?: SkippedSample[];
}

/** The generator of one sample's augmentation. */
export function sampleRng(seed: number, epoch: number, index: number): Rng {
  return new Rng(seed, STREAM.sample, epoch, index);
}

export function assembleBatch(
  images: readonly RgbImage[],
  labels: ArrayLike<number>,
  key: BatchKey,
  spec: BatchSpec,
): Batch {
  const n = images.length;
  if (labels.length !== n || key.indices.length !== n) {
    throw new Error(`batch: ${n} images, ${labels.length} labels, ${key.indices.length} indices`);
  }
  const [c, h, w] = transformShape(spec.transform);
  const sample = c * h * w;
  const x = new Float32Array(n * sample);
  for (let i = 0; i < n; i++) {
    applySampleTransform(
      images[i],
      spec.transform,
      sampleRng(key.seed, key.epoch, key.indices[i]),
      x,
      i * sample,
    );
  }
  const dims: [number, number, number, number] = [n, c, h, w];
  const y = Int32Array.from(labels);
  const targets = spec.mixup
    ? mixupBatch(x, dims, y, new Rng(key.seed, STREAM.mix, key.epoch, key.batch), {
        ...spec.mixup,
        numClasses: spec.numClasses,
      }).targets
    : mixupTarget(y, spec.numClasses, 1, spec.labelSmoothing ?? 0);
  return { epoch: key.epoch, batch: key.batch, x, dims, labels: y, targets };
}

/** Random access to decoded samples (implemented by sources-node.ts, or anything else). */
export interface SampleSource {
  length: number;
  label(index: number): number;
  /** Rejects with an error that may carry `file` and `reason` (image-folder-node.ts does). */
  image(index: number): Promise<RgbImage>;
}

function skippedSample(index: number, err: unknown): SkippedSample {
  const e = err as Error & { file?: string; reason?: string };
  return { index, file: e.file ?? `sample ${index}`, reason: e.reason ?? e.message ?? String(err) };
}

type Loaded = { ok: true; image: RgbImage } | { ok: false; error: unknown };

const settle = (p: Promise<RgbImage>): Promise<Loaded> =>
  p.then(
    (image) => ({ ok: true, image }),
    (error) => ({ ok: false, error }),
  );

/** Loads the samples of `key` from `source` (replacing or dropping bad ones) and assembles the batch. */
export async function buildBatch(source: SampleSource, key: BatchKey, spec: BatchSpec): Promise<Batch> {
  const wanted = Array.from(key.indices);
  const loaded = await Promise.all(wanted.map((i) => settle(source.image(i))));
  const spares = key.spares ? Array.from(key.spares) : null;
  let nextSpare = 0;
  const skipped: SkippedSample[] = [];
  const images: RgbImage[] = [];
  const used: number[] = [];
  for (let k = 0; k < wanted.length; k++) {
    let index = wanted[k];
    let r = loaded[k];
    while (!r.ok) {
      skipped.push(skippedSample(index, r.error));
      if (!spares) break;
      if (nextSpare >= spares.length) {
        const first = skipped[0];
        throw new Error(
          `batch ${key.batch} of epoch ${key.epoch}: ${skipped.length} samples could not be loaded and no spare is left (first: ${first.file}: ${first.reason})`,
        );
      }
      index = spares[nextSpare++];
      r = await settle(source.image(index));
    }
    if (r.ok) {
      images.push(r.image);
      used.push(index);
    }
  }
  const batch = assembleBatch(
    images,
    used.map((i) => source.label(i)),
    { ...key, indices: used },
    spec,
  );
  return skipped.length ? { ...batch, skipped } : batch;
}

/** Data-set indices of batch `batch` in `epoch`: a seeded permutation per epoch (or the plain order). */
export function batchIndices(
  pool: ArrayLike<number>,
  batchSize: number,
  seed: number,
  epoch: number,
  batch: number,
  shuffle: boolean,
  dropLast: boolean,
  order?: Int32Array,
): Int32Array {
  const perm = order ?? epochOrder(pool.length, seed, epoch, shuffle);
  const start = batch * batchSize;
  const end = Math.min(start + batchSize, pool.length);
  if (start >= pool.length || (dropLast && end - start < batchSize))
    throw new Error(`batch ${batch} is past the end of epoch ${epoch}`);
  const out = new Int32Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = pool[perm[i]];
  return out;
}

/** Positions in the pool in the order epoch `epoch` visits them. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  if (shuffle) return new Rng(seed, STREAM.order, epoch).permutation(n);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}
