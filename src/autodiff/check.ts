/**
 * Random-direction finite-difference check of gradient rules (JAX's check_vjp idea): for a graph
 * y = f(x₁…xₖ), a random probe r and random directions vᵢ,
 *   analytic = Σᵢ ⟨∂(r·y)/∂xᵢ, vᵢ⟩   vs   numeric = (r·f(x + εv) − r·f(x − εv)) / 2ε.
 * onnxruntime computes in float32, so r·y is summed on the host in float64 and ε is kept large enough
 * (1e-2 on O(1) inputs) that rounding noise stays far below the tolerance.
 */
import { Graph } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import { lowerComposites } from "../ops/index.ts";
import type { Session } from "../runtime/session.ts";
import { float32, type Float32Tensor, type HostTensor, numel } from "../tensor/host-tensor.ts";
import { addGradients } from "./grad.ts";

export interface CheckCase {
  /** Differentiable float32 inputs with static shapes; `positive` draws from (0.5, 1.5) instead of N(0,1). */
  inputs: { name: string; dims: number[]; positive?: boolean }[];
  /** Builds the function; returns the output to probe. */
  build(g: Graph, inputs: string[]): string;
  /** Step size; smaller for functions with kinks (ReLU, max pooling). */
  eps?: number;
}

export interface CheckResult {
  analytic: number;
  numeric: number;
  relError: number;
}

type SessionFactory = (onnx: Uint8Array) => Promise<Session>;

/** A small deterministic generator (mulberry32) so checks are reproducible. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export async function checkGradient(
  c: CheckCase,
  createSession: SessionFactory,
  seed = 1,
): Promise<CheckResult> {
  const eps = c.eps ?? 1e-2;
  const g = new Graph("gradcheck");
  const names = c.inputs.map((i) => g.input(i.name, "float32", i.dims));
  const y = c.build(g, names);
  const yShape = g.shape(y);
  const probe = g.input("probe", "float32", yShape);
  const grads = addGradients(g, y, names, probe);
  g.output(g.op("Identity", [y], {}, "y"));
  for (const n of names) g.output(g.op("Identity", [grads.get(n)!], {}, `grad.${n}`));
  lowerComposites(g);
  const session = await createSession(toOnnxBytes(g));

  const rand = gaussian(seed);
  const draw = (dims: number[], positive?: boolean) =>
    float32(
      dims,
      Float32Array.from({ length: numel(dims) }, () => (positive ? 1 + 0.5 * Math.tanh(rand()) : rand())),
    );
  const x = c.inputs.map((i) => draw(i.dims, i.positive));
  const v = c.inputs.map((i) => draw(i.dims));
  const r = draw(yShape);

  const feeds = (scale: number): Record<string, HostTensor> => {
    const f: Record<string, HostTensor> = { probe: r };
    c.inputs.forEach((inp, k) => {
      const shifted = Float32Array.from(x[k].data, (xv, j) => xv + scale * v[k].data[j]);
      f[inp.name] = float32(inp.dims, shifted);
    });
    return f;
  };
  const dot = (a: Float32Tensor | HostTensor, b: Float32Tensor) => {
    let s = 0;
    const ad = a.data as Float32Array;
    for (let j = 0; j < ad.length; j++) s += ad[j] * b.data[j];
    return s;
  };
  const at = await session.run(feeds(0));
  const analytic = c.inputs.reduce((s, inp, k) => s + dot(at[`grad.${inp.name}`], v[k]), 0);
  const plus = dot((await session.run(feeds(eps))).y, r);
  const minus = dot((await session.run(feeds(-eps))).y, r);
  await session.release();
  const numeric = (plus - minus) / (2 * eps);
  const relError = Math.abs(analytic - numeric) / Math.max(1e-3, Math.abs(analytic), Math.abs(numeric));
  return { analytic, numeric, relError };
}
