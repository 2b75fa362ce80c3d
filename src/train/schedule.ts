/**
 * Learning-rate schedule and per-parameter optimizer settings of the ConvNeXt recipe (paper Table 5/6, official
 * facebookresearch/ConvNeXt `utils.cosine_scheduler` and `optim_factory.py`).
 */

export interface LrSchedule {
  baseLr: number;
  /** Value the cosine ends at (1e-6 in the recipe). */
  minLr: number;
  /** Linear warmup steps (from `warmupStartLr`, default 0). */
  warmupSteps: number;
  /** All optimizer steps of the run, warmup included. */
  totalSteps: number;
  warmupStartLr?: number;
}

/**
 * Learning rate at optimizer step `step` (0-based), exactly as the official per-step table:
 * warmup = linspace(start, base, warmupSteps) (so its last step is already `baseLr`), then
 * `min + (base − min)·(1 + cos(π·i/n))/2` for i = 0..n−1, n = totalSteps − warmupSteps. Steps past the end
 * stay at `minLr` (i = n gives exactly `minLr`).
 */
export function learningRate(s: LrSchedule, step: number): number {
  const start = s.warmupStartLr ?? 0;
  if (step < s.warmupSteps) {
    return s.warmupSteps === 1 ? start : start + ((s.baseLr - start) * step) / (s.warmupSteps - 1);
  }
  const n = s.totalSteps - s.warmupSteps;
  if (n <= 0) return s.baseLr;
  const i = Math.min(step - s.warmupSteps, n);
  return s.minLr + 0.5 * (s.baseLr - s.minLr) * (1 + Math.cos((Math.PI * i) / n));
}

/** The official layer ids stop at 12 (stage 3) + 1 (head): built for 4 stages, whatever their depths. */
export const CONVNEXT_MAX_LAYER_ID = 13;

/**
 * Layer id of a parameter for layer-wise lr decay, the official `get_num_layer_for_convnext` rule: stem 0;
 * stages 0/1 → 1/2; downsamplers 1/2 → 2/3; stage-2 block j → 3 + ⌊j/3⌋; stage 3 and its downsampler → 12;
 * everything else (final norm, head) → 13. Accepts timm names (`stem.*`, `stages.S.downsample.*`,
 * `stages.S.blocks.B.*`) and official ones (`downsample_layers.S.*`, `stages.S.B.*`). `depths` only validates
 * the indices: the official rule does not depend on them (tiny's stage-2 blocks reach id 5 and ids 6–11 stay
 * unused, as in the official code).
 */
export function layerIdConvNeXt(paramName: string, depths: readonly number[]): number {
  if (depths.length !== 4)
    throw new Error(`layer-wise lr decay needs 4 stages, got depths [${depths.join(",")}]`);
  const stageIndex = (text: string): number => {
    const i = Number(text);
    if (i >= depths.length)
      throw new Error(`parameter ${paramName}: stage ${i} does not exist in depths [${depths}]`);
    return i;
  };
  if (paramName.startsWith("stem.")) return 0;
  let m = /^downsample_layers\.(\d+)\./.exec(paramName) ?? /^stages\.(\d+)\.downsample\./.exec(paramName);
  if (m) {
    const s = stageIndex(m[1]);
    return s === 0 ? 0 : s === 3 ? 12 : s + 1;
  }
  m = /^stages\.(\d+)\.(?:blocks\.)?(\d+)\./.exec(paramName);
  if (m) {
    const s = stageIndex(m[1]);
    const b = Number(m[2]);
    if (b >= depths[s]) throw new Error(`parameter ${paramName}: block ${b} does not exist in stage ${s}`);
    return s <= 1 ? s + 1 : s === 2 ? 3 + Math.floor(b / 3) : 12;
  }
  return CONVNEXT_MAX_LAYER_ID;
}

/** lr multiplier per parameter: decay^(13 − layer id) (1 for the head). */
export function layerLrScales(names: readonly string[], depths: readonly number[], decay: number): number[] {
  return names.map((n) => decay ** (CONVNEXT_MAX_LAYER_ID - layerIdConvNeXt(n, depths)));
}

/** Weight decay only on conv and linear weights: never on 1-D (or 0-D) tensors (norms, layer scale) or biases. */
export function weightDecayApplies(name: string, dims: readonly number[]): boolean {
  return dims.length > 1 && !name.endsWith(".bias");
}
