/**
 * Exponential moving average of the parameters, timm ModelEmaV2 semantics (what the ConvNeXt recipe evaluates
 * with EMA 0.9999): starts as a copy of the model, then after every optimizer step
 * `ema = decay·ema + (1 − decay)·param`, in float32 like the model.
 */

export interface EmaState {
  decay: number;
  /** Number of updates applied since the copy. */
  updates: number;
  params: Record<string, Float32Array>;
}

export class Ema {
  readonly decay: number;
  private updates = 0;
  private readonly params = new Map<string, Float32Array>();

  /** Copies `params` (name → values); `decay` defaults to the recipe's 0.9999. */
  constructor(params: Readonly<Record<string, Float32Array>>, decay = 0.9999) {
    if (!(decay >= 0 && decay <= 1)) throw new Error(`ema decay must be in [0, 1], got ${decay}`);
    this.decay = decay;
    for (const [name, p] of Object.entries(params)) this.params.set(name, Float32Array.from(p));
  }

  /** One update from the current model parameters (call after each optimizer step). */
  update(params: Readonly<Record<string, Float32Array>>): void {
    const f = Math.fround;
    const d = f(this.decay);
    const w = f(1 - this.decay);
    for (const [name, e] of this.params) {
      const p = params[name];
      if (!p) throw new Error(`ema: model has no parameter ${name}`);
      if (p.length !== e.length)
        throw new Error(`ema: parameter ${name} has ${p.length} values, the average has ${e.length}`);
      // same float32 op order as torch's `ema * decay + (1 - decay) * model`
      for (let i = 0; i < e.length; i++) e[i] = f(e[i] * d) + f(w * p[i]);
    }
    this.updates++;
  }

  /** The averaged parameters (live buffers). */
  get values(): ReadonlyMap<string, Float32Array> {
    return this.params;
  }

  getState(): EmaState {
    return { decay: this.decay, updates: this.updates, params: Object.fromEntries(this.params) };
  }

  static fromState(state: EmaState): Ema {
    const ema = new Ema(state.params, state.decay);
    ema.updates = state.updates;
    return ema;
  }

  get updateCount(): number {
    return this.updates;
  }
}
