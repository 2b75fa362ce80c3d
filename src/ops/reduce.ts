/** Reductions over axes given as an input (opset 18), with keepdims. */
import type { Graph, Node } from "../graph/graph.ts";
import { numel } from "../tensor/host-tensor.ts";
import { i64, normAxis, type OpDef, reshape, type Shape, scalar } from "./types.ts";

function reduceAxes(g: Graph, n: Node, rank: number): number[] {
  const v = n.inputs[1] ? g.constValue(n.inputs[1]) : undefined;
  return v ? v.map((a) => normAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
}

function inferReduce(g: Graph, n: Node, [a]: Shape[]): Shape[] {
  const axes = reduceAxes(g, n, a.length);
  const keep = (n.attrs.keepdims as number | undefined) ?? 1;
  return [keep ? a.map((d, i) => (axes.includes(i) ? 1 : d)) : a.filter((_, i) => !axes.includes(i))];
}

/** dy of a reduction, broadcast back to the input's shape. */
function spread(g: Graph, n: Node, dy: string): string {
  const x = g.shape(n.inputs[0]);
  const axes = reduceAxes(g, n, x.length);
  const kept = reshape(
    g,
    dy,
    x.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
  return g.op("Expand", [kept, i64(g, x)]);
}

function reducedCount(g: Graph, n: Node): number {
  const x = g.shape(n.inputs[0]);
  return numel(reduceAxes(g, n, x.length).map((a) => x[a]));
}

export const reduceOps = {
  ReduceSum: { infer: inferReduce, grad: (g, n, [dy]) => [dy && spread(g, n, dy)] },
  ReduceMean: {
    infer: inferReduce,
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const scaled = g.op("Mul", [
        dy,
        g.constant({ dtype: "float32", dims: [], data: new Float32Array([1 / reducedCount(g, n)]) }, "c"),
      ]);
      return [spread(g, n, scaled)];
    },
  },
  // y = sqrt(sum x^2): dx = dy * x / y, and 0 where y = 0 (every x of it is 0), as torch.norm's backward gives;
  // dy / y there would be 0 · ∞ = NaN (a GRN channel that GELU turned to zeros everywhere).
  ReduceL2: {
    infer: inferReduce,
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const y = n.outputs[0];
      const dyOverY = g.op("Where", [g.op("Greater", [y, scalar(g, 0)]), g.op("Div", [dy, y]), scalar(g, 0)]);
      const ratio = spread(g, n, dyOverY);
      return [g.op("Mul", [ratio, n.inputs[0]])];
    },
  },
} satisfies Record<string, OpDef>;
