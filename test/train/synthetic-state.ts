// A training state whose every value tells the save it came from: parameters and moments equal `step`, the EMA
// `step + 0.5`. For the tests of saving a run (kill-safety.test.ts and its child, save-loop.ts).
import { float32 } from "../../src/tensor/host-tensor.ts";
import type { TrainState } from "../../src/train/trainer.ts";

export function syntheticState(step: number, sizes: Record<string, number>): TrainState {
  const filled = (v: number) =>
    Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, new Float32Array(n).fill(v)]));
  const params = new Map(Object.entries(filled(step)).map(([k, a]) => [k, float32([a.length], a)]));
  const m = filled(step);
  const v = filled(step);
  const optimizer = {
    betas: [0.9, 0.999] as [number, number],
    eps: 1e-8,
    weightDecay: 0.05,
    params: Object.fromEntries(Object.keys(sizes).map((k) => [k, { step, m: m[k], v: v[k] }])),
  };
  return {
    step,
    epoch: step,
    batch: 0,
    params,
    optimizer,
    ema: { decay: 0.9, updates: step, params: filled(step + 0.5) },
  };
}

/** The checkpoint fields a run adds around its state (empty here: the tests look at the state). */
export const RUN_FIELDS = { config: {} as never, train: {} as never, run: {}, extra: {} };
