/**
 * Reverse-mode autodiff over the graph IR. The backward nodes are appended to the same graph, so one
 * onnxruntime run computes forward, loss and gradients. Only nodes on a path from a parameter to the loss
 * are differentiated; each op's vector-Jacobian product comes from the registry (ops/<family>.ts).
 */
import type { Graph, Node } from "../graph/graph.ts";
import { OPS } from "../ops/index.ts";
import { float32 } from "../tensor/host-tensor.ts";

/**
 * Appends the gradient of scalar `loss` with respect to each of `wrt`; returns wrt name → gradient name.
 * With `seed` (a value shaped like `loss`), computes the vector-Jacobian product seed·∂loss/∂wrt instead,
 * so `loss` need not be a scalar (the finite-difference checker uses this).
 */
export function addGradients(
  g: Graph,
  loss: string,
  wrt: readonly string[],
  seed?: string,
): Map<string, string> {
  const lossShape = g.shape(loss);
  if (!seed && (lossShape.length > 1 || (lossShape.length === 1 && lossShape[0] !== 1))) {
    throw new Error(`loss must be a scalar, got shape [${lossShape}]`);
  }
  const forward = [...g.nodes];
  const { relevant, dependsOnWrt } = relevantNodes(forward, loss, wrt);
  const contributions = new Map<string, string[]>();
  const push = (value: string, grad: string) => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  const total = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (!list || list.length === 0) return undefined;
    const sum = list.reduce((acc, gr) => g.op("Add", [acc, gr], {}, "grad_acc"));
    contributions.set(value, [sum]);
    return sum;
  };
  push(
    loss,
    seed ?? g.constant(float32(lossShape, new Float32Array(Math.max(1, lossShape[0] ?? 1)).fill(1)), "one"),
  );

  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    if (!relevant.has(node)) continue;
    const dys = node.outputs.map(total);
    if (dys.every((d) => d === undefined)) continue;
    const rule = OPS[node.op]?.grad;
    if (!rule) throw new Error(`no gradient rule for ${node.op} (node '${node.name}')`);
    // Inputs that do not depend on a parameter (data, constants) get no gradient: skipping them avoids
    // whole-tensor work such as reducing dy·x down to a scalar constant.
    const needs = node.inputs.map((x) => x !== "" && dependsOnWrt.has(x));
    const dxs = rule(g, node, dys, needs);
    dxs.forEach((dx, k) => {
      if (dx && node.inputs[k]) push(node.inputs[k], dx);
    });
  }

  const grads = new Map<string, string>();
  for (const p of wrt) {
    const gp = total(p) ?? g.constant(float32(g.shape(p)), "zero_grad");
    grads.set(p, gp);
  }
  return grads;
}

/** Nodes that depend on some `wrt` value and that the loss depends on. */
function relevantNodes(
  nodes: readonly Node[],
  loss: string,
  wrt: readonly string[],
): { relevant: Set<Node>; dependsOnWrt: Set<string> } {
  const fromWrt = new Set<string>(wrt);
  const forwardReach = new Set<Node>();
  for (const n of nodes) {
    if (n.inputs.some((x) => fromWrt.has(x))) {
      forwardReach.add(n);
      for (const o of n.outputs) fromWrt.add(o);
    }
  }
  const needed = new Set<string>([loss]);
  const result = new Set<Node>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (forwardReach.has(n) && n.outputs.some((o) => needed.has(o))) {
      result.add(n);
      for (const x of n.inputs) needed.add(x);
    }
  }
  return { relevant: result, dependsOnWrt: fromWrt };
}
