/**
 * fp16 storage for an inference graph: every float32 weight is stored as float16 and cast back to float32 once,
 * by a Cast node the runtime folds when it loads the model, so the file halves and the arithmetic (and the
 * graph's inputs and outputs) stay float32.
 *
 * Why not fp16 arithmetic: onnxruntime's CPU provider has no float16 kernels for most of these ops on x86
 * (Conv, LayerNormalization, Erf, ...); it inserts a Cast around each such node, which measured slower than
 * float32 and adds the error of fp16 activations (docs/export.md).
 * Scalars (the 0.5, 1 and √2 of GELU, epsilons) stay float32: they save nothing and 1e-6 is subnormal in fp16.
 */
import { numel, toFloat16 } from "../tensor/host-tensor.ts";
import type { Graph, Node } from "./graph.ts";

const ONNX_FLOAT = 1;

export function storeWeightsFloat16(g: Graph): void {
  const casts: Node[] = [];
  for (const [name, t] of g.initializers) {
    if (t.dtype !== "float32" || numel(t.dims) < 2) continue;
    g.initializers.set(name, toFloat16(t));
    g.dtypes.set(name, "float16");
    const cast = g.fresh(`${name}_fp32`);
    for (const n of g.nodes) n.inputs = n.inputs.map((v) => (v === name ? cast : v));
    g.dtypes.set(cast, "float32");
    casts.push({
      op: "Cast",
      inputs: [name],
      outputs: [cast],
      attrs: { to: ONNX_FLOAT },
      name: g.fresh(`n_cast_${name}`),
    });
  }
  // The casts read only initializers, so they may run first; nodes stay in topological order.
  g.nodes.unshift(...casts);
}
