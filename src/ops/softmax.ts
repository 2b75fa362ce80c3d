/** Softmax and LogSoftmax over the last axis. The loss is composed from LogSoftmax, Mul and reductions. */
import { i64, normAxis, type OpDef } from "./types.ts";

export const softmaxOps = {
  // dx = dy − softmax(x)·sum(dy)
  LogSoftmax: {
    infer: (_g, _n, [x]) => [x],
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const rank = g.shape(n.inputs[0]).length;
      const axis = normAxis((n.attrs.axis as number | undefined) ?? -1, rank);
      const sum = g.op("ReduceSum", [dy, i64(g, [axis])], { keepdims: 1 });
      return [g.op("Sub", [dy, g.op("Mul", [g.op("Exp", [n.outputs[0]]), sum])])];
    },
  },
  // dx = y·(dy − sum(dy·y))
  Softmax: {
    infer: (_g, _n, [x]) => [x],
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const y = n.outputs[0];
      const rank = g.shape(y).length;
      const axis = normAxis((n.attrs.axis as number | undefined) ?? -1, rank);
      const sum = g.op("ReduceSum", [g.op("Mul", [dy, y]), i64(g, [axis])], { keepdims: 1 });
      return [g.op("Mul", [y, g.op("Sub", [dy, sum])])];
    },
  },
} satisfies Record<string, OpDef>;
