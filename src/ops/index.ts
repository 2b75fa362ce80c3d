/**
 * The op registry: one table built from each family's exports. Shape inference for the graph builder and
 * gradient rules for autodiff both read it.
 */
import { type Graph, type Node, setShapeInferer } from "../graph/graph.ts";
import { convOps } from "./conv.ts";
import { elementwiseOps } from "./elementwise.ts";
import { linearOps } from "./linear.ts";
import { normOps } from "./norm.ts";
import { reduceOps } from "./reduce.ts";
import { shapeOps } from "./shape.ts";
import { softmaxOps } from "./softmax.ts";
import type { OpDef, Shape } from "./types.ts";

export const OPS: Record<string, OpDef> = {
  ...elementwiseOps,
  ...shapeOps,
  ...reduceOps,
  ...linearOps,
  ...convOps,
  ...normOps,
  ...softmaxOps,
};

/** Registers additional op families (e.g. BatchNormalization, MaxPool gradients) beside the core ones. */
export function registerOps(ops: Record<string, OpDef>): void {
  Object.assign(OPS, ops);
}

function inferShapes(g: Graph, node: Node): (Shape | undefined)[] | undefined {
  const def = OPS[node.op];
  if (!def) return undefined;
  const shapes: Shape[] = [];
  for (const x of node.inputs) {
    if (x === "") continue;
    const s = g.shapes.get(x);
    if (!s) return undefined;
    shapes.push(s);
  }
  return def.infer(g, node, shapes);
}

setShapeInferer(inferShapes);

export type { OpDef, Shape } from "./types.ts";
