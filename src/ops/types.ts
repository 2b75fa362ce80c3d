/**
 * What the op registry knows of each ONNX op: its output shapes, and (for differentiable ops) its
 * gradient rule. Emitters and rules of one op family live side by side in one file (ops/<family>.ts).
 */
import type { Graph, Node } from "../graph/graph.ts";
import { type DType, float32, int64 } from "../tensor/host-tensor.ts";

export type Shape = number[];

export interface OpDef {
  /** Output shapes from the input shapes (all known). */
  infer(g: Graph, node: Node, shapes: Shape[]): (Shape | undefined)[];
  /**
   * Vector-Jacobian product: given the gradients of the node's outputs (undefined = zero), emit nodes into g
   * computing the gradients of its inputs (undefined = zero or not differentiable). `needs[i]` is false for
   * inputs that need no gradient (constants, data): rules skip their work.
   */
  grad?(g: Graph, node: Node, dy: (string | undefined)[], needs: boolean[]): (string | undefined)[];
  /**
   * Composites only (ops that are not ONNX ops but carry a faster gradient rule): emits the primitives that
   * compute the node and returns their outputs, in the node's output order.
   */
  lower?(g: Graph, node: Node): string[];
}

export function scalar(g: Graph, v: number): string {
  return g.constant(float32([], [v]), "c");
}

export function i64(g: Graph, values: number[]): string {
  return g.constant(int64([values.length], values), "shape");
}

export function reshape(g: Graph, x: string, dims: number[]): string {
  return g.op("Reshape", [x, i64(g, dims)]);
}

export function transpose(g: Graph, x: string, perm: number[]): string {
  return g.op("Transpose", [x], { perm });
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Numpy broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * The one helper every broadcasting op's gradient uses: sum `dy` (shaped like the broadcast output) back
 * down to `shape`.
 */
export function unbroadcast(g: Graph, dy: string, shape: Shape): string {
  const outShape = g.shape(dy);
  const lead = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return dy;
  const kept = outShape.length - axes.length;
  if (axes.every((a, i) => a === i) && kept > 0) return reshape(g, sumRows(g, dy, kept), shape);
  const summed = g.op("ReduceSum", [dy, i64(g, axes)], { keepdims: 1 });
  return g.shape(summed).length === shape.length && g.shape(summed).every((d, i) => d === shape[i])
    ? summed
    : reshape(g, summed, shape);
}

/**
 * The sum over all but the last `kept` axes, as a [1, rows] × [rows, cols] MatMul with a row of ones:
 * onnxruntime's ReduceSum over leading axes ran slower on 2 threads than on 1 (12 → 28 ms per convnext_atto
 * step at 128², batch 32), while the GEMM form uses both. Returns [1, cols].
 */
export function sumRows(g: Graph, t: string, kept = 1): string {
  const s = g.shape(t);
  const cols = s.slice(s.length - kept).reduce((a, b) => a * b, 1);
  const rows = s.slice(0, s.length - kept).reduce((a, b) => a * b, 1);
  const ones = g.constant(float32([1, rows], new Float32Array(rows).fill(1)), "ones_row");
  return g.op("MatMul", [ones, reshape(g, t, [rows, cols])], {}, "sum_rows");
}

/** Records the dtype of a node's output (ops whose output type differs from their first input's). */
export function withDtype<T>(g: Graph, n: Node, dtype: DType, shapes: T): T {
  g.dtypes.set(n.outputs[0], dtype);
  return shapes;
}
