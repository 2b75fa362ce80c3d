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
      const [, mean, istd] = n.outputs;
      const c = xs[xs.length - 1];
      const last = i64(g, [-1]);
      const xhat = g.op("Mul", [g.op("Sub", [x, mean]), istd], {}, "ln_xhat");
      let dx: string | undefined;
      if (needs[0]) {
        const gh = g.op("Mul", [dy, scale]);
        const meanG = g.op("ReduceMean", [gh, last], { keepdims: 1 });
        const meanGX = g.op("ReduceMean", [g.op("Mul", [gh, xhat]), last], { keepdims: 1 });
        const inner = g.op("Sub", [g.op("Sub", [gh, meanG]), g.op("Mul", [xhat, meanGX])]);
        dx = g.op("Mul", [inner, istd], {}, "ln_dx");
      }
      const dscale = reshape(g, sumRows(g, g.op("Mul", [dy, xhat])), [c]);
      const grads: (string | undefined)[] = [dx, dscale];
      if (bias) grads.push(reshape(g, sumRows(g, dy), [c]));
      return grads;
    },
  },
} satisfies Record<string, OpDef>;
