/**
 * Weight gradients over many rows, Aᵀ·B with A [R, M] and B [R, N] — the `Gemm` with transA that the MatMul and
 * Gemm gradient rules write for a weight shared by every row (ops/linear.ts) — as `parts` row ranges: one
 * batched MatMul takes the product of each range, and a ReduceSum adds the parts.
 *
 * onnxruntime runs that Gemm on two threads only ~1.5× faster than on one (convnext_atto's stage-0
 * [32768, 160]ᵀ × [32768, 40]: 5.3 ms on 1 thread, 3.2–3.7 ms on 2), and the batched product, whose batches
 * the threads take whole, in 2.26 ms. On one thread the split gains nothing, and where the rows are few for the
 * M × N output (convnext_atto's stages 2 and 3) the ReduceSum costs more than the split saves, hence the bound
 * R·4 ≥ M·N.
 */
import type { Graph, Node } from "../graph/graph.ts";
import { replaceNodes } from "../graph/rewrite.ts";
import { i64, reshape, transpose } from "./types.ts";

/** Below this, a part's product is too small for the extra kernels to pay (the small weight-side products). */
const MIN_ROWS_PER_PART = 4096;

/** Replaces each such Gemm whose rows divide into `parts` ranges, in place; returns how many. */
export function weightGradientsSplitOverRows(g: Graph, parts: number): number {
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`weight-gradient row parts ${parts}`);
  if (parts === 1) return 0;
  return replaceNodes(
    g,
    (n) => isSplittable(g, n, parts),
    (n) => {
      const [a, b] = n.inputs;
      const [rows, m] = g.shape(a);
      const cols = g.shape(b)[1];
      const perPart = rows / parts;
      const partial = g.op("MatMul", [
        transpose(g, reshape(g, a, [parts, perPart, m]), [0, 2, 1]),
        reshape(g, b, [parts, perPart, cols]),
      ]);
      return g.op("ReduceSum", [partial, i64(g, [0])], { keepdims: 0 }, "weight_grad_row_ranges");
    },
  );
}

function isSplittable(g: Graph, n: Node, parts: number): boolean {
  if (n.op !== "Gemm" || n.domain || n.inputs.length !== 2) return false;
  const { transA, transB, alpha, beta } = n.attrs;
  if (transA !== 1 || (transB ?? 0) !== 0 || alpha !== undefined || beta !== undefined) return false;
  const sa = g.shapes.get(n.inputs[0]);
  const sb = g.shapes.get(n.inputs[1]);
  if (sa?.length !== 2 || sb?.length !== 2 || sa[0] !== sb[0]) return false;
  const [rows, m] = sa;
  return rows % parts === 0 && rows / parts >= MIN_ROWS_PER_PART && rows * 4 >= m * sb[1];
}
