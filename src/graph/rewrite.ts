/** In-place graph rewrites: swap single-output nodes for equivalent subgraphs. */
import type { Graph, Node } from "./graph.ts";

/**
 * Replaces each node that `matches` accepts by the nodes `emit` appends, in place and in order. `emit` returns
 * the value standing for the node's output; it is renamed to that output, so every consumer still finds it.
 * Returns how many nodes were replaced.
 */
export function replaceNodes(g: Graph, matches: (n: Node) => boolean, emit: (n: Node) => string): number {
  const nodes = g.nodes.splice(0);
  let replaced = 0;
  for (const node of nodes) {
    if (!matches(node)) {
      g.nodes.push(node);
      continue;
    }
    const start = g.nodes.length;
    const y = emit(node);
    for (const n of g.nodes.slice(start)) n.outputs = n.outputs.map((o) => (o === y ? node.outputs[0] : o));
    replaced++;
  }
  return replaced;
}
