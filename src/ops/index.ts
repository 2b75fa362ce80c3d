/**
 * The op registry: one table built from each family's exports. Shape inference for the graph builder and
 * gradient rules for autodiff both read it.
 */
import { type Graph, type Node, setShapeInferer } from "../graph/graph.ts";
import { convOps } from "./conv.ts";
import { elementwiseOps } from "./elementwise.ts";
import { geluOps } from "./gelu.ts";
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
  ...geluOps,
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

/**
 * Replaces composite nodes by their primitives, in place and in order, keeping the composite's output names
 * so every consumer (forward or backward) still finds its inputs.
 */
export function lowerComposites(g: Graph): void {
  const nodes = g.nodes.splice(0);
  for (const node of nodes) {
    const lower = OPS[node.op]?.lower;
    if (!lower) {
      g.nodes.push(node);
      continue;
    }
    const start = g.nodes.length;
    const produced = lower(g, node);
    const rename = new Map(produced.map((v, i) => [v, node.outputs[i]]));
    for (const n of g.nodes.slice(start)) {
      n.outputs = n.outputs.map((o) => rename.get(o) ?? o);
      n.inputs = n.inputs.map((x) => rename.get(x) ?? x);
    }
  }
}

export type { OpDef, Shape } from "./types.ts";
