/**
 * Numeric precision of an inference graph, one graph rewrite per choice, applied after the model is built with
 * float32 weights. A new precision is one more entry here.
 *  - fp16: weights stored as float16 with a Cast back (half the file; compute stays float32, since onnxruntime's
 *    CPU provider has no fp16 kernels for most of these ops: fp16 compute measured 1.34–2.68× slower);
 *  - int8: the MLP linear layers as u8 × s8 dynamic-quantized matmuls (quantize-int8.ts).
 */
import { storeWeightsFloat16 } from "./float16.ts";
import type { Graph } from "./graph.ts";
import { quantizeLinearInt8 } from "./quantize-int8.ts";

export interface PrecisionOptions {
  /** onnxruntime's com.microsoft contrib ops where a fused one exists (false: standard ONNX only). */
  msOps: boolean;
}

const REWRITES = {
  fp32: () => {},
  fp16: (g: Graph) => storeWeightsFloat16(g),
  int8: (g: Graph, o: PrecisionOptions) => {
    quantizeLinearInt8(g, { msOps: o.msOps });
  },
} satisfies Record<string, (g: Graph, o: PrecisionOptions) => void>;

export type Precision = keyof typeof REWRITES;
export const PRECISIONS = Object.keys(REWRITES) as Precision[];

export function isPrecision(p: string): p is Precision {
  return Object.hasOwn(REWRITES, p);
}

/** A precision from any caller, or a one-line error naming the ones there are. */
export function checkPrecision(p: unknown): Precision {
  if (typeof p === "string" && isPrecision(p)) return p;
  throw new Error(`precision must be one of ${PRECISIONS.join(", ")}, got ${JSON.stringify(p) ?? typeof p}`);
}

export function applyPrecision(
  g: Graph,
  precision: Precision,
  opts: PrecisionOptions = { msOps: false },
): void {
  REWRITES[checkPrecision(precision)](g, opts);
}
