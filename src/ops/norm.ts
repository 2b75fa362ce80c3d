/**
 * LayerNormalization over the last axis (opset 17). Its gradient rule uses the op's own Mean and InvStdDev
 * outputs (ORT CPU computes them), so the backward pass needs no second pass for the statistics:
 *   x̂ = (x − mean)·istd,  ĝ = dy·scale,  dx = istd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)).
 */
import { i64, normAxis, type OpDef, reshape, sumRows } from "./types.ts";

export const normOps = {
  LayerNormalization: {
    infer: (_g, n, [x]) => {
      const axis = normAxis((n.attrs.axis as number | undefined) ?? -1, x.length);
      const stat = x.map((d, i) => (i < axis ? d : 1));
      return [x, stat, stat];
    },
    grad: (g, n, [dy], needs) => {
      if (!dy) return [];
      const [x, scale, bias] = n.inputs;
      const xs = g.shape(x);
      if (normAxis((n.attrs.axis as number | undefined) ?? -1, xs.length) !== xs.length - 1) {
        throw new Error("LayerNormalization gradient: only the last axis");
      }
      if (n.outputs.length < 3)
        throw new Error("LayerNormalization gradient needs the Mean and InvStdDev outputs");
      const [y, mean, istd] = n.outputs;
      const c = xs[xs.length - 1];
      const last = i64(g, [-1]);
      // Without an affine part (scale a constant of ones, no bias) the output is x̂ itself and ĝ is dy: two and
      // one passes fewer. The models fold the block norm's affine part into the next linear layer for this.
      const plain = !bias && (g.constValue(scale)?.every((v) => v === 1) ?? false);
      const xhat = plain ? y : g.op("Mul", [g.op("Sub", [x, mean]), istd], {}, "ln_xhat");
      let dx: string | undefined;
      if (needs[0]) {
        const gh = plain ? dy : g.op("Mul", [dy, scale]);
        const meanG = g.op("ReduceMean", [gh, last], { keepdims: 1 });
        const meanGX = g.op("ReduceMean", [g.op("Mul", [gh, xhat]), last], { keepdims: 1 });
        const inner = g.op("Sub", [g.op("Sub", [gh, meanG]), g.op("Mul", [xhat, meanGX])]);
        dx = g.op("Mul", [inner, istd], {}, "ln_dx");
      }
      const dscale = needs[1] ? reshape(g, sumRows(g, g.op("Mul", [dy, xhat])), [c]) : undefined;
      const dbias = bias && needs[2] ? reshape(g, sumRows(g, dy), [c]) : undefined;
      return [dx, dscale, dbias];
    },
  },
} satisfies Record<string, OpDef>;
