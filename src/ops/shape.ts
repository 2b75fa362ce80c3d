/** Layout ops: Transpose, Reshape, Flatten, Expand, Slice, Pad, Concat, Unsqueeze, Squeeze, Gather. */
import type { Graph, Node } from "../graph/graph.ts";
import { numel } from "../tensor/host-tensor.ts";
import {
  broadcastShapes,
  i64,
  normAxis,
  type OpDef,
  reshape,
  type Shape,
  transpose,
  withDtype,
} from "./types.ts";

function constInput(g: Graph, n: Node, i: number): number[] {
  const v = n.inputs[i] ? g.constValue(n.inputs[i]) : undefined;
  if (!v) throw new Error(`${n.op} '${n.name}': input ${i} must be a constant`);
  return v;
}

function reshapeTarget(from: Shape, target: number[]): Shape {
  const out = target.map((d, i) => (d === 0 ? from[i] : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return out.map((d) => (d === -1 ? numel(from) / known : d));
}

export interface SliceSpec {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

export function sliceSpec(g: Graph, n: Node, rank: number): SliceSpec {
  const starts = constInput(g, n, 1);
  const ends = constInput(g, n, 2);
  const axes = n.inputs[3] ? constInput(g, n, 3).map((a) => normAxis(a, rank)) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? constInput(g, n, 4) : starts.map(() => 1);
  return { starts, ends, axes, steps };
}

/** Clamped [start, end) and length of one sliced axis, as the ONNX spec defines them. */
function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; len: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return { start: s, len: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return { start: s, len: Math.max(0, Math.ceil((s - e) / -step)) };
}

export const shapeOps = {
  Transpose: {
    infer: (_g, n, [a]) => [(n.attrs.perm as number[]).map((p) => a[p])],
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const perm = n.attrs.perm as number[];
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [transpose(g, dy, inv)];
    },
  },
  Reshape: {
    // A shape computed at run time (Shape of a dynamic tensor) leaves the output shape unknown.
    infer: (g, n, [a]) => {
      const target = g.constValue(n.inputs[1]);
      return [target ? reshapeTarget(a, target) : undefined];
    },
    grad: (g, n, [dy]) => [dy && reshape(g, dy, g.shape(n.inputs[0]))],
  },
  Flatten: {
    infer: (_g, n, [a]) => {
      const axis = normAxis((n.attrs.axis as number | undefined) ?? 1, a.length);
      return [[numel(a.slice(0, axis)), numel(a.slice(axis))]];
    },
    grad: (g, n, [dy]) => [dy && reshape(g, dy, g.shape(n.inputs[0]))],
  },
  Unsqueeze: {
    infer: (g, n, [a]) => {
      const axes = constInput(g, n, 1)
        .map((x) => normAxis(x, a.length + 1))
        .sort((p, q) => p - q);
      const out = [...a];
      for (const ax of axes) out.splice(ax, 0, 1);
      return [out];
    },
    grad: (g, n, [dy]) => [dy && reshape(g, dy, g.shape(n.inputs[0]))],
  },
  Squeeze: {
    infer: (g, n, [a]) => {
      const axes = constInput(g, n, 1).map((x) => normAxis(x, a.length));
      return [a.filter((_, i) => !axes.includes(i))];
    },
    grad: (g, n, [dy]) => [dy && reshape(g, dy, g.shape(n.inputs[0]))],
  },
  Expand: {
    infer: (g, n, [a]) => [broadcastShapes(a, constInput(g, n, 1))],
  },
  Shape: {
    infer: (g, n, [a]) => withDtype(g, n, "int64", [[a.length]]),
  },
  Slice: {
    infer: (g, n, [a]) => {
      const spec = sliceSpec(g, n, a.length);
      const out = [...a];
      spec.axes.forEach((ax, i) => {
        out[ax] = sliceAxis(a[ax], spec.starts[i], spec.ends[i], spec.steps[i]).len;
      });
      return [out];
    },
    // The slice's gradient places dy back with zero padding; only unit or -1 (flip of a whole axis) steps occur.
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const x = g.shape(n.inputs[0]);
      const spec = sliceSpec(g, n, x.length);
      const pads = new Array(2 * x.length).fill(0);
      let d = dy;
      spec.axes.forEach((ax, i) => {
        const { start, len } = sliceAxis(x[ax], spec.starts[i], spec.ends[i], spec.steps[i]);
        if (spec.steps[i] === 1) {
          pads[ax] = start;
          pads[ax + x.length] = x[ax] - start - len;
        } else if (spec.steps[i] === -1 && start === x[ax] - 1 && len === x[ax]) {
          d = g.op("Slice", [d, i64(g, [-1]), i64(g, [Number.MIN_SAFE_INTEGER]), i64(g, [ax]), i64(g, [-1])]);
        } else {
          throw new Error(`Slice gradient: step ${spec.steps[i]} on a partial axis is not supported`);
        }
      });
      return [pads.some((p) => p !== 0) ? g.op("Pad", [d, i64(g, pads)]) : d];
    },
  },
  // Only built inside gradient rules (depthwise-weight-grad.ts), so it needs no rule of its own.
  Gather: {
    infer: (_g, n, [data, indices]) => {
      const axis = normAxis((n.attrs.axis as number | undefined) ?? 0, data.length);
      return [[...data.slice(0, axis), ...indices, ...data.slice(axis + 1)]];
    },
  },
  Pad: {
    infer: (g, n, [a]) => {
      const pads = constInput(g, n, 1);
      return [a.map((d, i) => d + pads[i] + pads[i + a.length])];
    },
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      if ((n.attrs.mode ?? "constant") !== "constant") throw new Error("Pad gradient: only constant mode");
      const x = g.shape(n.inputs[0]);
      const pads = constInput(g, n, 1);
      const axes = x.map((_, i) => i);
      return [
        g.op("Slice", [
          dy,
          i64(g, pads.slice(0, x.length)),
          i64(
            g,
            x.map((d, i) => pads[i] + d),
          ),
          i64(g, axes),
        ]),
      ];
    },
  },
  Concat: {
    infer: (_g, n, shapes) => {
      const axis = normAxis(n.attrs.axis as number, shapes[0].length);
      const out = [...shapes[0]];
      out[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
      return [out];
    },
    grad: (g, n, [dy]) => {
      if (!dy) return [];
      const shapes = n.inputs.map((x) => g.shape(x));
      const axis = normAxis(n.attrs.axis as number, shapes[0].length);
      let offset = 0;
      return shapes.map((s) => {
        const part = g.op("Slice", [dy, i64(g, [offset]), i64(g, [offset + s[axis]]), i64(g, [axis])]);
        offset += s[axis];
        return part;
      });
    },
  },
} satisfies Record<string, OpDef>;
