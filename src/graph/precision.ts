/**
 * Numeric precision of an exported inference graph, one graph rewrite per choice, applied after the model is
 * built with float32 weights. A new precision is one more entry here.
 */
import { storeWeightsFloat16 } from "./float16.ts";
import type { Graph } from "./graph.ts";

const REWRITES = {
  fp32: () => {},
  fp16: storeWeightsFloat16,
} satisfies Record<string, (g: Graph) => void>;

export type Precision = keyof typeof REWRITES;
export const PRECISIONS = Object.keys(REWRITES) as Precision[];

export function isPrecision(p: string): p is Precision {
  return Object.hasOwn(REWRITES, p);
}

export function applyPrecision(g: Graph, precision: Precision): void {
  REWRITES[precision](g);
}
