/**
 * Seeded, stratified train/validation split: within each class the sample indices are shuffled and the first
 * round(fraction·count) go to validation, so small classes stay represented on both sides and the split is the
 * same on every run with the same seed.
 */

import { Rng } from "../rng.ts";

export interface Split {
  train: Int32Array;
  val: Int32Array;
}

export function stratifiedSplit(labels: ArrayLike<number>, valFraction: number, seed: number): Split {
  if (!(valFraction >= 0 && valFraction < 1))
    throw new Error(`validation fraction must be in [0, 1), got ${valFraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  const train: number[] = [];
  const val: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = new Rng(seed, label).shuffle(byClass.get(label) as number[]);
    const nVal = Math.round(valFraction * idx.length);
    // Element by element: spreading a class of a million indices into push overflows the stack.
    for (let k = 0; k < idx.length; k++) (k < nVal ? val : train).push(idx[k]);
  }
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), val: sorted(val) };
}
