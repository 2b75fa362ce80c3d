/**
 * AdamW on host arrays, in place, matching torch.optim.AdamW (single-tensor path, amsgrad off):
 *   p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← v·β2 + (1−β2)·g·g
 *   p ← p − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + eps)
 * NOTE: eps is added after the bias-corrected square root, as torch does (not √(v̂ + eps), not √v + eps).
 * Every value is computed in double and rounded once, when stored. torch rounds float32 after each operation, so
 * the two differ by about a unit in the last place of the largest term (`fixtures/grad`'s float32 step: 6e-8, within
 * its 1e-6). Rounding op by op as torch does (a Math.fround per operation, 14 per value) took twice as long, and
 * the optimizer is where PyTorch's step is furthest ahead of ours. Per-parameter lr scale (layer-wise decay)
 * multiplies lr everywhere, the decoupled decay included, as torch does with a param group's lr.
 */

import { type HostTensor, isNonNegativeIntList, numel } from "../tensor/host-tensor.ts";
import { weightDecayApplies } from "./schedule.ts";

export type FloatArray = Float32Array | Float64Array;

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One AdamW update of one tensor; `t` is the step number after incrementing (1 for the first step). */
export function adamwUpdate(
  p: FloatArray,
  g: FloatArray,
  m: FloatArray,
  v: FloatArray,
  t: number,
  h: AdamWHyper,
): void {
  const n = p.length;
  if (g.length !== n || m.length !== n || v.length !== n) {
    throw new Error(`adamw: param has ${n} values but grad/m/v have ${g.length}/${m.length}/${v.length}`);
  }
  const decay = 1 - h.lr * h.weightDecay;
  const w1 = 1 - h.beta1;
  const beta2 = h.beta2;
  const w2 = 1 - beta2;
  const eps = h.eps;
  const stepSize = h.lr / (1 - h.beta1 ** t);
  const invBc2Sqrt = 1 / (1 - beta2 ** t) ** 0.5;
  // NOTE: the two loops are the same formula; one loop seeing both array types ran 1.25-1.8x slower (its element
  // accesses turn polymorphic), so each type keeps its own.
  if (p instanceof Float32Array) {
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const mi = m[i] + w1 * (gi - m[i]);
      const vi = v[i] * beta2 + w2 * gi * gi;
      p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
      m[i] = mi;
      v[i] = vi;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const mi = m[i] + w1 * (gi - m[i]);
      const vi = v[i] * beta2 + w2 * gi * gi;
      p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
      m[i] = mi;
      v[i] = vi;
    }
  }
}

type Grads = Readonly<Record<string, FloatArray>> | ReadonlyMap<string, FloatArray>;

export interface AdamWConfig {
  /** (β1, β2), default (0.9, 0.999). */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay for the parameters it applies to (default 0.05, the recipe's). */
  weightDecay?: number;
}

export interface AdamWParam {
  name: string;
  /** The parameter values, updated in place. */
  data: FloatArray;
  dims: readonly number[];
  /** lr multiplier (layer-wise decay); default 1. */
  lrScale?: number;
  /** Whether weight decay applies; default `weightDecayApplies(name, dims)`. */
  decay?: boolean;
}

export interface AdamWParamState {
  step: number;
  m: FloatArray;
  v: FloatArray;
}

/** One tensor's share of an update that runs on another thread: its elements [start, end). */
export interface AdamWJob {
  /** Position of the tensor in the optimizer's parameter order (`sharedArrays()`). */
  index: number;
  start: number;
  end: number;
  /** The tensor's step number after this update. */
  step: number;
  hyper: AdamWHyper;
}

/** Runs jobs on the arrays of `AdamW.sharedArrays()` elsewhere (a worker thread on Node). */
export interface AdamWHelper {
  run(jobs: AdamWJob[]): Promise<void>;
}

/** What a helper thread needs of one parameter, all in shared memory: values, gradient, moments. */
export interface SharedAdamWArrays {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** Tensors with fewer values are updated whole on the calling thread: a job's hand-off costs more. */
const MIN_SPLIT_VALUES = 1 << 14;

export interface AdamWState {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  params: Record<string, AdamWParamState>;
}

export class AdamW {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: Required<AdamWParam>[];
  private state = new Map<string, AdamWParamState>();

  /** Per parameter, a shared copy of the half of the gradient a helper updates from (`stepWithHelper`). */
  private gradStaging: Float32Array[] | null = null;

  /**
   * `shared`: the moments live in SharedArrayBuffers, so that `stepWithHelper` can give half of every update to
   * another thread (the parameters must be in shared memory too, and float32).
   */
  constructor(params: AdamWParam[], config: AdamWConfig = {}, opts: { shared?: boolean } = {}) {
    this.betas = config.betas ?? [0.9, 0.999];
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0.05;
    const inUnit = (b: unknown) => typeof b === "number" && b >= 0 && b < 1;
    if (!Array.isArray(this.betas) || this.betas.length !== 2 || !this.betas.every(inUnit))
      throw new Error(`adamw: betas must be two numbers in [0, 1), got ${JSON.stringify(config.betas)}`);
    if (!(this.eps > 0 && Number.isFinite(this.eps)))
      throw new Error(`adamw: eps must be a number > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0 && Number.isFinite(this.weightDecay)))
      throw new Error(`adamw: weight decay must be a number ≥ 0, got ${this.weightDecay}`);
    this.params = params.map((p) => ({
      ...p,
      lrScale: p.lrScale ?? 1,
      decay: p.decay ?? weightDecayApplies(p.name, p.dims),
    }));
    for (const p of this.params) {
      if (this.state.has(p.name)) throw new Error(`adamw: parameter ${p.name} given twice`);
      const n = p.data.length;
      if (!isNonNegativeIntList(p.dims) || numel(p.dims) !== n)
        throw new Error(
          `adamw: parameter ${p.name} has ${n} values, its dims ${JSON.stringify(p.dims)} say otherwise`,
        );
      const zeros = () =>
        opts.shared
          ? new Float32Array(new SharedArrayBuffer(n * 4))
          : p.data instanceof Float32Array
            ? new Float32Array(n)
            : new Float64Array(n);
      this.state.set(p.name, { step: 0, m: zeros(), v: zeros() });
    }
  }

  /** One optimizer step at base learning rate `lr`; `grads` must hold every parameter's gradient. */
  step(grads: Grads, lr: number): void {
    for (const { p, g } of this.checked(grads, lr)) {
      const s = this.state.get(p.name) as AdamWParamState;
      s.step += 1;
      adamwUpdate(p.data, g, s.m, s.v, s.step, this.hyper(p, lr));
    }
  }

  /**
   * The same step with the first half of every large tensor updated by `helper` on another thread while this one
   * updates the second half: the update is elementwise, so the result is the same bit for bit. Needs `shared`.
   */
  async stepWithHelper(grads: Grads, lr: number, helper: AdamWHelper): Promise<void> {
    const staging = this.stagingArrays();
    const jobs: AdamWJob[] = [];
    const here: (() => void)[] = [];
    for (const [index, { p, g }] of this.checked(grads, lr).entries()) {
      const s = this.state.get(p.name) as AdamWParamState;
      s.step += 1;
      const hyper = this.hyper(p, lr);
      const split = p.data.length >= MIN_SPLIT_VALUES ? p.data.length >> 1 : 0;
      if (split > 0) {
        staging[index].set(g.subarray(0, split));
        jobs.push({ index, start: 0, end: split, step: s.step, hyper });
      }
      const rest = (a: FloatArray) => a.subarray(split);
      here.push(() => adamwUpdate(rest(p.data), rest(g), rest(s.m), rest(s.v), s.step, hyper));
    }
    const there = helper.run(jobs);
    for (const update of here) update();
    await there;
  }

  /** Per parameter, in order: the shared arrays a helper thread updates (constructed with `shared`). */
  sharedArrays(): SharedAdamWArrays[] {
    const staging = this.stagingArrays();
    return this.params.map((p, i) => {
      const s = this.state.get(p.name) as AdamWParamState;
      if (!(p.data.buffer instanceof SharedArrayBuffer) || !(s.m.buffer instanceof SharedArrayBuffer))
        throw new Error(`adamw: parameter ${p.name} or its moments are not in shared memory`);
      return { p: p.data as Float32Array, g: staging[i], m: s.m as Float32Array, v: s.v as Float32Array };
    });
  }

  private stagingArrays(): Float32Array[] {
    this.gradStaging ??= this.params.map(
      (p) => new Float32Array(new SharedArrayBuffer(4 * (p.data.length >> 1))),
    );
    return this.gradStaging;
  }

  // Every gradient is checked before any parameter changes: a bad one leaves the whole model as it was.
  private checked(grads: Grads, lr: number): { p: Required<AdamWParam>; g: FloatArray }[] {
    if (!(lr >= 0 && Number.isFinite(lr)))
      throw new Error(`adamw: learning rate must be a number ≥ 0, got ${lr}`);
    const get = (name: string) =>
      grads instanceof Map ? grads.get(name) : (grads as Record<string, FloatArray>)[name];
    return this.params.map((p) => {
      const g = get(p.name);
      if (!g) throw new Error(`adamw: no gradient for parameter ${p.name}`);
      if (g.length !== p.data.length) {
        throw new Error(
          `adamw: gradient of ${p.name} has ${g.length} values, parameter has ${p.data.length}`,
        );
      }
      return { p, g };
    });
  }

  private hyper(p: Required<AdamWParam>, lr: number): AdamWHyper {
    return {
      lr: lr * p.lrScale,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: p.decay ? this.weightDecay : 0,
    };
  }

  /** The live state (m and v are the optimizer's own buffers, not copies: write them out before the next step). */
  getState(): AdamWState {
    return {
      betas: [...this.betas],
      eps: this.eps,
      weightDecay: this.weightDecay,
      params: Object.fromEntries(this.state),
    };
  }

  /** Restores a saved state (copied in); every parameter must be present with matching sizes. */
  setState(saved: AdamWState): void {
    for (const p of this.params) {
      const s = saved.params[p.name];
      if (!s) throw new Error(`adamw state: no entry for parameter ${p.name}`);
      const own = this.state.get(p.name) as AdamWParamState;
      if (s.m.length !== own.m.length || s.v.length !== own.v.length) {
        throw new Error(
          `adamw state for ${p.name}: m/v have ${s.m.length}/${s.v.length} values, parameter has ${own.m.length}`,
        );
      }
      own.m.set(s.m);
      own.v.set(s.v);
      own.step = s.step;
    }
  }
}

/** Flattens optimizer state to tensors named `<prefix><param>.exp_avg|exp_avg_sq|step` (torch's names). */
export function adamwStateToTensors(state: AdamWState, prefix = "optimizer."): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, s] of Object.entries(state.params)) {
    const dtype = s.m instanceof Float32Array ? "float32" : "float64";
    out[`${prefix}${name}.exp_avg`] = { dtype, dims: [s.m.length], data: s.m };
    out[`${prefix}${name}.exp_avg_sq`] = { dtype, dims: [s.v.length], data: s.v };
    out[`${prefix}${name}.step`] = { dtype: "float32", dims: [], data: Float32Array.of(s.step) };
  }
  return out;
}

/** Inverse of `adamwStateToTensors` for the given parameter names (hyper-parameters come from `config`). */
export function adamwStateFromTensors(
  tensors: Readonly<Record<string, HostTensor>>,
  names: readonly string[],
  config: AdamWConfig = {},
  prefix = "optimizer.",
): AdamWState {
  const params: Record<string, AdamWParamState> = {};
  for (const name of names) {
    const get = (suffix: string): HostTensor => {
      const t = tensors[`${prefix}${name}.${suffix}`];
      if (!t) throw new Error(`optimizer state: missing tensor ${prefix}${name}.${suffix}`);
      return t;
    };
    const m = get("exp_avg").data;
    const v = get("exp_avg_sq").data;
    const step = get("step").data;
    if (
      !(m instanceof Float32Array || m instanceof Float64Array) ||
      !(v instanceof Float32Array || v instanceof Float64Array)
    ) {
      throw new Error(`optimizer state for ${name}: exp_avg/exp_avg_sq must be float32 or float64`);
    }
    params[name] = { step: Number(step[0]), m, v };
  }
  return {
    betas: config.betas ?? [0.9, 0.999],
    eps: config.eps ?? 1e-8,
    weightDecay: config.weightDecay ?? 0.05,
    params,
  };
}
