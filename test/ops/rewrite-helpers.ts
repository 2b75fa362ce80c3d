// Runs a small graph with and without a training-graph rewrite: its output and the gradients of ⟨probe, y⟩.
// A rewrite runs on the forward graph (its output gets gradients by the existing rules), or with
// `afterGradients` on the whole graph once the gradients are built (for ops that have no gradient rules).
import { addGradients } from "../../src/autodiff/grad.ts";
import { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { lowerComposites } from "../../src/ops/index.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { Rng } from "../../src/train/rng.ts";

export async function valuesAndGradients(
  inputs: Record<string, number[]>,
  build: (g: Graph, inputs: string[]) => string,
  rewrite?: (g: Graph) => number,
  opts: { afterGradients?: boolean } = {},
): Promise<{ out: Record<string, HostTensor>; rewritten: number }> {
  const g = new Graph("rewrite");
  const names = Object.entries(inputs).map(([name, dims]) => g.input(name, "float32", dims));
  const y = build(g, names);
  let rewritten = rewrite && !opts.afterGradients ? rewrite(g) : 0;
  const probe = g.input("probe", "float32", g.shape(y));
  const grads = addGradients(g, y, names, probe);
  g.output(g.op("Identity", [y], {}, "y"));
  for (const [p, gp] of grads) g.output(g.op("Identity", [gp], {}, `grad.${p}`));
  lowerComposites(g);
  if (rewrite && opts.afterGradients) rewritten = rewrite(g);
  const rng = new Rng(7);
  const draw = (dims: number[]) => normalTensor(dims, rng);
  const feeds: Record<string, HostTensor> = { probe: draw(g.shape(y)) };
  for (const [name, dims] of Object.entries(inputs)) feeds[name] = draw(dims);
  const session = await createSession(toOnnxBytes(g));
  const out = await session.run(feeds);
  await session.release();
  return { out, rewritten };
}

/** A float32 tensor of standard normal draws. */
export function normalTensor(dims: number[], rng: Rng): HostTensor {
  return float32(
    dims,
    Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => rng.normal()),
  );
}

/** max |a − b| / max |b|. */
export function maxRelDiff(a: HostTensor, b: HostTensor): number {
  const ad = a.data as Float32Array;
  const bd = b.data as Float32Array;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < ad.length; i++) {
    scale = Math.max(scale, Math.abs(bd[i]));
    diff = Math.max(diff, Math.abs(ad[i] - bd[i]));
  }
  return diff / scale;
}
