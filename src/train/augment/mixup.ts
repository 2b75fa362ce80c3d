/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) per batch, as timm's `Mixup` in mode 'batch': each
 * sample is mixed with its partner in the reversed batch (`x.flip(0)`), one λ for the whole batch, and the
 * labels become soft targets with label smoothing folded in (`mixup_target`). The recipe: mixup α 0.8,
 * cutmix α 1.0, prob 1.0, switch prob 0.5, label smoothing 0.1, λ corrected to the true box area.
 */

import type { Rng } from "../rng.ts";

export interface MixupOptions {
  mixupAlpha?: number;
  cutmixAlpha?: number;
  /** Probability of mixing a batch at all. */
  prob?: number;
  /** Probability of CutMix instead of Mixup when both are enabled. */
  switchProb?: number;
  labelSmoothing?: number;
  /** Recompute λ from the clipped box area (timm correct_lam, default on). */
  correctLam?: boolean;
  numClasses: number;
}

/**
 * timm's `mixup_target`: smoothed one-hot of `labels` (off = smoothing/classes, on = 1 − smoothing + off) times λ
 * plus the same for the reversed labels times 1 − λ. With a Float32Array `out` the arithmetic is float32 op by op
 * (as torch does on float32 tensors); with a Float64Array it is double.
 */
export function mixupTarget<T extends Float32Array | Float64Array = Float32Array>(
  labels: ArrayLike<number>,
  numClasses: number,
  lam: number,
  smoothing: number,
  out?: T,
): T {
  const n = labels.length;
  const res = (out ?? new Float32Array(n * numClasses)) as T;
  if (res.length !== n * numClasses)
    throw new Error(`mixup target buffer holds ${res.length} values, needs ${n}x${numClasses}`);
  const r = res instanceof Float32Array ? Math.fround : (x: number) => x;
  const off = r(smoothing / numClasses);
  const on = r(1 - smoothing + off);
  const a = r(lam);
  const b = r(1 - lam);
  const offA = r(off * a);
  const offB = r(off * b);
  for (let i = 0; i < n; i++) {
    const y1 = labels[i];
    const y2 = labels[n - 1 - i];
    if (!(Number.isInteger(y1) && y1 >= 0 && y1 < numClasses))
      throw new Error(`label ${y1} at ${i} is outside 0..${numClasses - 1}`);
    for (let c = 0; c < numClasses; c++) {
      res[i * numClasses + c] = r((c === y1 ? r(on * a) : offA) + (c === y2 ? r(on * b) : offB));
    }
  }
  return res;
}

export interface CutmixBox {
  /** Rows [y0, y1), columns [x0, x1). */
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/** timm `rand_bbox`: a box of side √(1−λ)·size (floored) around a uniform centre, clipped to the image. */
export function randBbox(height: number, width: number, lam: number, rng: Rng): CutmixBox {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(height * ratio);
  const cutW = Math.trunc(width * ratio);
  const cy = rng.int(height);
  const cx = rng.int(width);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return {
    y0: clip(cy - Math.floor(cutH / 2), height),
    y1: clip(cy + Math.floor(cutH / 2), height),
    x0: clip(cx - Math.floor(cutW / 2), width),
    x1: clip(cx + Math.floor(cutW / 2), width),
  };
}

/** λ from the box actually pasted: 1 − box area / image area (timm correct_lam). */
export function boxLam(box: CutmixBox, height: number, width: number): number {
  return 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (height * width);
}

export interface MixResult {
  /** The λ of the first-order samples in the final targets (1 when the batch was not mixed). */
  lam: number;
  mode: "none" | "mixup" | "cutmix";
  box?: CutmixBox;
  /** Soft targets (N × classes). */
  targets: Float32Array;
}

/** Mixes the float NCHW batch `x` in place and returns the soft targets. The batch size must be even (as timm). */
export function mixupBatch(
  x: Float32Array,
  dims: readonly number[],
  labels: ArrayLike<number>,
  rng: Rng,
  opts: MixupOptions,
): MixResult {
  const mixupAlpha = opts.mixupAlpha ?? 0.8;
  const cutmixAlpha = opts.cutmixAlpha ?? 1.0;
  const smoothing = opts.labelSmoothing ?? 0.1;
  if (dims.length !== 4) throw new Error(`mixup needs an NCHW batch, got dims [${dims.join(", ")}]`);
  const [n, c, h, w] = dims;
  if (x.length !== n * c * h * w)
    throw new Error(`mixup: batch [${dims.join(", ")}] needs ${n * c * h * w} values, got ${x.length}`);
  if (labels.length !== n) throw new Error(`mixup: ${labels.length} labels for a batch of ${n}`);
  if (n % 2 !== 0) throw new Error(`mixup: batch size must be even, got ${n}`);

  let lam = 1;
  let useCutmix = false;
  if ((mixupAlpha > 0 || cutmixAlpha > 0) && rng.uniform() < (opts.prob ?? 1)) {
    if (mixupAlpha > 0 && cutmixAlpha > 0) {
      useCutmix = rng.uniform() < (opts.switchProb ?? 0.5);
      lam = useCutmix ? rng.beta(cutmixAlpha, cutmixAlpha) : rng.beta(mixupAlpha, mixupAlpha);
    } else if (mixupAlpha > 0) {
      lam = rng.beta(mixupAlpha, mixupAlpha);
    } else {
      useCutmix = true;
      lam = rng.beta(cutmixAlpha, cutmixAlpha);
    }
  }
  if (lam === 1) return { lam, mode: "none", targets: mixupTarget(labels, opts.numClasses, 1, smoothing) };

  const sample = c * h * w;
  const half = n / 2;
  let box: CutmixBox | undefined;
  if (useCutmix) {
    box = randBbox(h, w, lam, rng);
    if (opts.correctLam ?? true) lam = boxLam(box, h, w);
    // swap the box between partners i and n−1−i: both read the other's original pixels
    for (let i = 0; i < half; i++) {
      const a = i * sample;
      const b = (n - 1 - i) * sample;
      for (let ch = 0; ch < c; ch++) {
        for (let y = box.y0; y < box.y1; y++) {
          const row = ch * h * w + y * w;
          for (let xx = box.x0; xx < box.x1; xx++) {
            const t = x[a + row + xx];
            x[a + row + xx] = x[b + row + xx];
            x[b + row + xx] = t;
          }
        }
      }
    }
  } else {
    const f = Math.fround;
    const la = f(lam);
    const lb = f(1 - lam);
    for (let i = 0; i < half; i++) {
      const a = i * sample;
      const b = (n - 1 - i) * sample;
      for (let k = 0; k < sample; k++) {
        const xa = x[a + k];
        const xb = x[b + k];
        x[a + k] = f(xa * la) + f(xb * lb);
        x[b + k] = f(xb * la) + f(xa * lb);
      }
    }
  }
  return {
    lam,
    mode: useCutmix ? "cutmix" : "mixup",
    box,
    targets: mixupTarget(labels, opts.numClasses, lam, smoothing),
  };
}
