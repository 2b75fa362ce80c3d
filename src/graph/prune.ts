/**
 * Drops the nodes and initializers no graph output depends on. onnxruntime keeps them and runs them: a
 * ConvNeXt-T graph asked only for `stage1` (embed --features stage1) still computed stages 2–3 and the head,
 * 326 nodes where 111 are needed.
 */
import type { Graph } from "./graph.ts";

/** Prunes in place; returns how many nodes were removed. */
export function pruneUnused(g: Graph): number {
  const needed = new Set(g.outputs.map((o) => o.name));
  const kept = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const x of n.inputs) needed.add(x);
  }
  const removed = g.nodes.length - kept.length;
  g.nodes.splice(0, g.nodes.length, ...kept.reverse());
  for (const name of [...g.initializers.keys()]) if (!needed.has(name)) g.initializers.delete(name);
  return removed;
}
