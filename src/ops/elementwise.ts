/** Elementwise ops: broadcasting binaries and pointwise unaries, with their gradient rules. */
import type { Graph, Node } from "../graph/graph.ts";
import { broadcastShapes, type OpDef, scalar, type Shape, unbroadcast, withDtype } from "./types.ts";

const binary = (grad: OpDef["grad"]): OpDef => ({
  infer: (_g, _n, [a, b]) => [broadcastShapes(a, b)],
  grad,
});

const same = (grad?: OpDef["grad"]): OpDef => ({ infer: (_g, _n, [a]) => [a], grad });

const shapeOf = (g: Graph, n: Node, i: number): Shape => g.shape(n.inputs[i]);

export const elementwiseOps = {
  Add: binary((g, n, [dy], needs) => {
    if (!dy) return [];
    return [0, 1].map((i) => (needs[i] ? unbroadcast(g, dy, shapeOf(g, n, i)) : undefined));
  }),
  Sub: binary((g, n, [dy], needs) => {
    if (!dy) return [];
    return [
      needs[0] ? unbroadcast(g, dy, shapeOf(g, n, 0)) : undefined,
      needs[1] ? g.op("Neg", [unbroadcast(g, dy, shapeOf(g, n, 1))]) : undefined,
    ];
  }),
  // Mul is bilinear: each input's gradient is dy times the other input.
  Mul: binary((g, n, [dy], needs) => {
    if (!dy) return [];
    const [a, b] = n.inputs;
    return [
      needs[0] ? unbroadcast(g, g.op("Mul", [dy, b]), shapeOf(g, n, 0)) : undefined,
      needs[1] ? unbroadcast(g, g.op("Mul", [dy, a]), shapeOf(g, n, 1)) : undefined,
    ];
  }),
  // d(a/b) = dy/b, −dy·y/b
  Div: binary((g, n, [dy], needs) => {
    if (!dy) return [];
    const [, b] = n.inputs;
    const da = g.op("Div", [dy, b]);
    const db = needs[1]
      ? unbroadcast(g, g.op("Neg", [g.op("Mul", [da, n.outputs[0]])]), shapeOf(g, n, 1))
      : undefined;
    return [needs[0] ? unbroadcast(g, da, shapeOf(g, n, 0)) : undefined, db];
  }),
  Neg: same((g, _n, [dy]) => [dy && g.op("Neg", [dy])]),
  Identity: same((_g, _n, [dy]) => [dy]),
  // erf'(x) = 2/sqrt(pi) * exp(-x^2)
  Erf: same((g, n, [dy]) => {
    if (!dy) return [];
    const x = n.inputs[0];
    const e = g.op("Exp", [g.op("Neg", [g.op("Mul", [x, x])])]);
    return [g.op("Mul", [dy, g.op("Mul", [e, scalar(g, 2 / Math.sqrt(Math.PI))])])];
  }),
  Exp: same((g, n, [dy]) => [dy && g.op("Mul", [dy, n.outputs[0]])]),
  Log: same((g, n, [dy]) => [dy && g.op("Div", [dy, n.inputs[0]])]),
  Sqrt: same((g, n, [dy]) => [dy && g.op("Div", [dy, g.op("Mul", [n.outputs[0], scalar(g, 2)])])]),
  Reciprocal: same((g, n, [dy]) => {
    if (!dy) return [];
    const y = n.outputs[0];
    return [g.op("Neg", [g.op("Mul", [dy, g.op("Mul", [y, y])])])];
  }),
  Relu: same((g, n, [dy]) => {
    if (!dy) return [];
    const positive = g.op("Greater", [n.inputs[0], scalar(g, 0)]);
    return [g.op("Where", [positive, dy, scalar(g, 0)])];
  }),
  // Not differentiated (masks, comparisons): shapes only.
  Greater: { infer: (g, n, [a, b]) => withDtype(g, n, "bool", [broadcastShapes(a, b)]) },
  Less: { infer: (g, n, [a, b]) => withDtype(g, n, "bool", [broadcastShapes(a, b)]) },
  Where: {
    infer: (g, n, [c, a, b]) =>
      withDtype(g, n, g.dtypes.get(n.inputs[1]) ?? "float32", [broadcastShapes(c, broadcastShapes(a, b))]),
  },
  Cast: {
    infer: (g, n, [a]) => {
      const to = n.attrs.to as number;
      g.dtypes.set(n.outputs[0], to === 1 ? "float32" : to === 7 ? "int64" : to === 9 ? "bool" : "float32");
      return [a];
    },
  },
} satisfies Record<string, OpDef>;
