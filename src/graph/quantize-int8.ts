/**
 * Dynamic int8 quantization of the linear layers of an inference graph: every `MatMul(x, W)` whose W is a
 * 2-D float32 initializer (with the `Add(·, b)` of a 1-D bias initializer that follows it) becomes a matmul of
 * u8 activations, quantized per tensor at run time, with s8 weights quantized per output column, symmetric,
 * to 7 bits (±63).
 *
 * Why this form: u8 × s8 is the operand pair of the AVX-512 VNNI dot product (VPDPBUSD), which onnxruntime's
 * MLAS int8 GEMM uses directly; u8 weights (what `quantize_dynamic(weight_type=QUInt8)` writes, the peer
 * graph) take a slower path. Without VNNI (AVX2, and AVX-512 before Cascade Lake) MLAS multiplies u8 × s8 with
 * VPMADDUBSW, which adds each pair of adjacent products into a saturating int16: 2·255·127 = 64770 overflows
 * it and large activations are clipped (8% logit error on v1-small, measured). 7-bit weights keep every pair
 * within int16 (2·255·63 = 32130), cost nothing in speed (the kernel does not depend on the values) and little
 * accuracy (docs/inference), and make one exported file right on every CPU; onnxruntime's `reduce_range` does
 * the same.
 *
 * Only MatMul is rewritten: in ConvNeXt that is the MLP (93% of ConvNeXt-T's multiply-adds); depthwise convs,
 * norms, the patchify / downsample convs and the classifier Gemm stay fp32, as they cost accuracy when quantized
 * and little time when not.
 *
 * Two spellings of the same arithmetic:
 *  - `msOps` (onnxruntime-node): one `com.microsoft.DynamicQuantizeMatMul` per layer, bias fused;
 *  - standard ONNX (any engine, onnxruntime-web): DynamicQuantizeLinear → MatMulInteger → Cast → Mul → Add.
 */
import type { Graph, Node } from "./graph.ts";

export interface QuantizeOptions {
  /** Use onnxruntime's com.microsoft DynamicQuantizeMatMul (default true). */
  msOps?: boolean;
  /** Weight initializers with fewer elements stay fp32 (default 0: every one is quantized). */
  minElements?: number;
}

/** Largest weight level: 7 bits, so that a pair of u8 × s8 products fits VPMADDUBSW's int16 sum (see above). */
export const WEIGHT_LEVELS = 63;

/** Per-column symmetric quantization of a [K, N] weight: q = round(w / s), s = max|w[:, n]| / WEIGHT_LEVELS. */
export function quantizeColumns(
  w: Float32Array,
  k: number,
  n: number,
): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(n);
  for (let r = 0; r < k; r++)
    for (let c = 0; c < n; c++) scale[c] = Math.max(scale[c], Math.abs(w[r * n + c]));
  for (let c = 0; c < n; c++) scale[c] = scale[c] > 0 ? scale[c] / WEIGHT_LEVELS : 1;
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++)
    for (let c = 0; c < n; c++)
      q[r * n + c] = Math.max(-WEIGHT_LEVELS, Math.min(WEIGHT_LEVELS, Math.round(w[r * n + c] / scale[c])));
  return { q, scale };
}

/** Rewrites the graph in place; returns the number of layers quantized. */
export function quantizeLinearInt8(g: Graph, opts: QuantizeOptions = {}): number {
  const msOps = opts.msOps ?? true;
  const minElements = opts.minElements ?? 0;
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const nodes = g.nodes.splice(0);
  const dropped = new Set<Node>();
  let count = 0;
  for (const node of nodes) {
    if (dropped.has(node)) continue;
    const w = node.op === "MatMul" ? g.initializers.get(node.inputs[1]) : undefined;
    if (w?.dtype !== "float32" || w.dims.length !== 2 || w.data.length < minElements) {
      g.nodes.push(node);
      continue;
    }
    const [k, n] = w.dims;
    // The bias Add that follows, when the MatMul feeds only it.
    const next = consumers.get(node.outputs[0]) ?? [];
    const add = next.length === 1 && !outputs.has(node.outputs[0]) ? next[0] : undefined;
    const biasName = add?.op === "Add" ? add.inputs.find((i) => i !== node.outputs[0]) : undefined;
    const bias = biasName ? g.initializers.get(biasName) : undefined;
    const fuseBias = !!bias && bias.dims.length === 1 && bias.dims[0] === n;
    const { q, scale } = quantizeColumns(w.data as Float32Array, k, n);
    const base = node.inputs[1];
    const wq = g.initializer(`${base}_s8`, { dtype: "int8", dims: [k, n], data: q });
    const ws = g.initializer(`${base}_scale`, { dtype: "float32", dims: [n], data: scale });
    const x = node.inputs[0];
    const y = fuseBias ? add!.outputs[0] : node.outputs[0];
    if (msOps) {
      const inputs = [x, wq, ws, "", ...(fuseBias ? [biasName!] : [])];
      g.nodes.push({
        op: "DynamicQuantizeMatMul",
        domain: "com.microsoft",
        inputs,
        outputs: [y],
        attrs: {},
        name: g.fresh(`n_${base}_int8`),
      });
    } else {
      const [xq, xs, xz] = g.add("DynamicQuantizeLinear", [x], {}, 3, "xq");
      const acc = g.op("MatMulInteger", [xq, wq, xz], {}, "acc_i32");
      const accF = g.op("Cast", [acc], { to: 1 }, "acc_f32");
      const colScale = g.op("Mul", [ws, xs], {}, "col_scale");
      const scaled = g.op("Mul", [accF, colScale], {}, fuseBias ? "scaled" : "int8_out");
      const out = fuseBias ? g.op("Add", [scaled, biasName!], {}, "int8_out") : scaled;
      const last = g.nodes[g.nodes.length - 1];
      last.outputs = last.outputs.map((o) => (o === out ? y : o));
    }
    g.dtypes.set(y, "float32");
    if (fuseBias) dropped.add(add!);
    count++;
  }
  // Float weights no longer read by any node are dropped from the file.
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const name of [...g.initializers.keys()]) if (!read.has(name)) g.initializers.delete(name);
  return count;
}
