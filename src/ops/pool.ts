/**
 * MaxPool (2-D, NCHW) with its gradient rule, and ScatterElements, which the rule emits.
 *
 * The gradient routes each output gradient to the input position that won its window. MaxPool's optional
 * `Indices` output names that position as an index into the whole flattened input (batch and channel
 * offsets included, row-major), so one ScatterElements with reduction "add" into a flat zero tensor places
 * every dy at once. "add" (not "none") matters: overlapping windows (3×3 stride 2, ResNet's stem) can pick
 * the same input position for several outputs, and those gradients must sum.
 *
 * The forward pass may emit the Indices output (training graphs do); when it did not, the rule recomputes
 * them with a second MaxPool on the same input.
 */
import type { Graph, Node } from "../graph/graph.ts";
import { numel } from "../tensor/host-tensor.ts";
import { convOutSize } from "./conv.ts";
import { i64, type OpDef, reshape, scalar, type Shape } from "./types.ts";

export interface MaxPoolGeometry {
  kernel: number;
  stride: number;
  pad: number;
}

/**
 * A square max pool; with `indices`, the node also outputs the argmax positions (for the backward pass).
 * Returns the pooled value.
 */
export function maxPool(g: Graph, x: string, geo: MaxPoolGeometry, indices = false): string {
  const attrs = {
    kernel_shape: [geo.kernel, geo.kernel],
    strides: [geo.stride, geo.stride],
    pads: [geo.pad, geo.pad, geo.pad, geo.pad],
  };
  return g.add("MaxPool", [x], attrs, indices ? 2 : 1, "maxpool")[0];
}

function inferMaxPool(g: Graph, n: Node, [x]: Shape[]): Shape[] {
  if (x.length !== 4) throw new Error(`MaxPool '${n.name}': only 2-D pooling of NCHW input, got [${x}]`);
  if (n.attrs.ceil_mode) throw new Error(`MaxPool '${n.name}': ceil_mode is not supported`);
  if (n.attrs.dilations && (n.attrs.dilations as number[]).some((d) => d !== 1)) {
    throw new Error(`MaxPool '${n.name}': dilations are not supported`);
  }
  const k = n.attrs.kernel_shape as number[];
  const s = (n.attrs.strides as number[] | undefined) ?? [1, 1];
  const p = (n.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const y = [
    x[0],
    x[1],
    convOutSize(x[2], k[0], s[0], p[0], p[2]),
    convOutSize(x[3], k[1], s[1], p[1], p[3]),
  ];
  if (n.outputs.length > 1) g.dtypes.set(n.outputs[1], "int64");
  return n.outputs.length > 1 ? [y, y] : [y];
}

export const poolOps = {
  MaxPool: {
    infer: inferMaxPool,
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const x = n.inputs[0];
      const xs = g.shape(x);
      if (n.attrs.storage_order) throw new Error("MaxPool gradient: only row-major storage_order");
      const indices = n.outputs[1] ?? g.add("MaxPool", [x], n.attrs, 2, "maxpool_argmax")[1];
      const zeros = g.op("Expand", [scalar(g, 0), i64(g, [numel(xs)])], {}, "maxpool_dx_zeros");
      const flat = g.op(
        "ScatterElements",
        [zeros, reshape(g, indices, [-1]), reshape(g, dy, [-1])],
        { axis: 0, reduction: "add" },
        "maxpool_dx",
      );
      return [reshape(g, flat, xs)];
    },
  },
  // Not differentiated here: it only appears inside the MaxPool gradient.
  ScatterElements: { infer: (_g, _n, [data]) => [data] },
} satisfies Record<string, OpDef>;
