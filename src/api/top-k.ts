/**
 * From logits to answers: softmax probabilities and the k most likely classes of each row.
 * Computed in double precision (max subtracted first, so large logits cannot overflow exp) and rounded to
 * nothing: callers format the numbers as they like.
 */
import type { HostTensor } from "../tensor/host-tensor.ts";
import { shapeString } from "../tensor/host-tensor.ts";

export interface Prediction {
  label: string;
  /** Class index in the model's head. */
  index: number;
  /** Softmax probability of the class. */
  prob: number;
}

/** Softmax of `n` logits starting at `offset`; a NaN or infinite logit (a diverged model) is an error. */
export function softmax(logits: ArrayLike<number>, offset = 0, n = logits.length - offset): Float64Array {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(n) ||
    offset < 0 ||
    n < 1 ||
    offset + n > logits.length
  )
    throw new Error(`softmax: logits ${offset}..${offset + n - 1} are not within the ${logits.length} given`);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i];
    if (!Number.isFinite(v)) throw new Error(`softmax: logit ${i} is ${v}; the model's output is not finite`);
    max = Math.max(max, v);
  }
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(logits[offset + i] - max);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/** The `k` largest probabilities, most likely first; equal probabilities keep class order. */
export function topK(probs: ArrayLike<number>, k: number, labels: readonly string[]): Prediction[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`top-k: k must be a positive integer, got ${k}`);
  if (labels.length !== probs.length) {
    throw new Error(`top-k: ${labels.length} labels for ${probs.length} classes`);
  }
  // A partial selection would be faster for 21841 classes, but a full sort of indices costs ~2 ms there.
  const order = Array.from({ length: probs.length }, (_, i) => i);
  order.sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, Math.min(k, probs.length)).map((index) => ({
    label: labels[index],
    index,
    prob: probs[index],
  }));
}

/** Top-k of every row of a (N, classes) logits tensor. */
export function predictionsFromLogits(
  logits: HostTensor,
  k: number,
  labels: readonly string[],
): Prediction[][] {
  if (logits.dims.length !== 2)
    throw new Error(`logits must be (N, classes), got ${shapeString(logits.dims)}`);
  const [n, classes] = logits.dims;
  const data = logits.data as Float32Array;
  return Array.from({ length: n }, (_, i) => topK(softmax(data, i * classes, classes), k, labels));
}
