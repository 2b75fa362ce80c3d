/**
 * GELU (exact erf form) as a composite with its own gradient rule. Opset 18 has no Gelu op, so the node is
 * lowered to primitives before serialisation (`lowerComposites`). Its second output, Φ(x), lets the
 * backward reuse the forward's erf: dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π) — 7 elementwise
 * passes instead of the 10 that differentiating the primitives takes (docs/training-graphs.md: the
 * elementwise passes over the 4C-wide hidden tensor are the largest share of a training step).
 */
import type { Graph } from "../graph/graph.ts";
import { type OpDef, scalar } from "./types.ts";

export const GELU_OP = "ConvNeXtGelu";

export const geluOps = {
  [GELU_OP]: {
    infer: (_g, _n, [x]) => [x, x],
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const [x] = n.inputs;
      const [, cdf] = n.outputs;
      const halfSquare = g.op("Mul", [x, g.op("Mul", [x, scalar(g, -0.5)])]);
      const pdf = g.op("Mul", [g.op("Exp", [halfSquare]), scalar(g, 1 / Math.sqrt(2 * Math.PI))]);
      return [g.op("Mul", [dy, g.op("Add", [cdf, g.op("Mul", [x, pdf])])], {}, "dgelu")];
    },
    /** Φ(x) = ½(1 + erf(x/√2)); y = x·Φ(x). */
    lower: (g, n) => {
      const [x] = n.inputs;
      const erf = g.op("Erf", [g.op("Div", [x, scalar(g, Math.SQRT2)])]);
      const cdf = g.op("Mul", [g.op("Add", [erf, scalar(g, 1)]), scalar(g, 0.5)]);
      const y = g.op("Mul", [x, cdf]);
      return [y, cdf];
    },
  },
} satisfies Record<string, OpDef>;

/** Emits a GELU node whose backward reuses Φ(x); returns y. */
export function geluComposite(g: Graph, x: string): string {
  return g.add(GELU_OP, [x], {}, 2, "gelu")[0];
}
