/**
 * GELU (exact erf form) as composites with their own gradient rules. Opset 18 has no Gelu op, so the nodes are
 * lowered to primitives before serialisation (`lowerComposites`); their second output lets the backward reuse the
 * forward's erf (docs/training-graphs.md: the elementwise passes over the 4C-wide hidden tensor are the largest
 * share of a training step).
 *
 * - `ConvNeXtGelu`, y = x·Φ(x): second output Φ(x); dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π) —
 *   7 backward passes instead of the 10 that differentiating the primitives takes, 5 forward.
 * - `ConvNeXtGeluScaled`, in u = x/√2: y = u·(1 + erf(u)) = √2·GELU(x), second output E = 1 + erf(u);
 *   du = dy·(E + u·exp(ln(2/√π) − u²)). The caller folds 1/√2 into the weights before and after (tiny tensors),
 *   which leaves 3 forward passes (Erf, Add, Mul) and 6 backward ones.
 */
import type { Graph } from "../graph/graph.ts";
import { type OpDef, scalar } from "./types.ts";

export const GELU_OP = "ConvNeXtGelu";
export const GELU_SCALED_OP = "ConvNeXtGeluScaled";

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
  [GELU_SCALED_OP]: {
    infer: (_g, _n, [u]) => [u, u],
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const [u] = n.inputs;
      const [, e] = n.outputs;
      // (2/√π)·exp(−u²) as one Exp of (ln(2/√π) − u²): the constant factor costs no pass of its own.
      const pdf = g.op("Exp", [
        g.op("Sub", [scalar(g, Math.log(2 / Math.sqrt(Math.PI))), g.op("Mul", [u, u])]),
      ]);
      return [g.op("Mul", [dy, g.op("Add", [e, g.op("Mul", [u, pdf])])], {}, "dgelu")];
    },
    lower: (g, n) => {
      const [u] = n.inputs;
      const e = g.op("Add", [g.op("Erf", [u]), scalar(g, 1)]);
      return [g.op("Mul", [u, e]), e];
    },
  },
} satisfies Record<string, OpDef>;

/** Emits a GELU node whose backward reuses Φ(x); returns y. */
export function geluComposite(g: Graph, x: string): string {
  return g.add(GELU_OP, [x], {}, 2, "gelu")[0];
}

/** Emits u·(1 + erf(u)) = √2·GELU(√2·u), whose backward reuses 1 + erf(u); returns it. */
export function geluScaledComposite(g: Graph, u: string): string {
  return g.add(GELU_SCALED_OP, [u], {}, 2, "gelu")[0];
}
