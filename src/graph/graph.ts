/**
 * The graph IR: ONNX's model in plain objects. Values are named by strings; nodes are kept in
 * topological order because the builder appends each node after its inputs exist.
 *
 * Static shapes are tracked where they are known (every value of a training graph, built for one batch
 * shape); an inference graph with a dynamic batch simply has unknown shapes, which no inference op needs.
 */
import type { DType, HostTensor } from "../tensor/host-tensor.ts";

/** Attribute values: plain numbers are INT, arrays of numbers INTS; floats are tagged. */
export type AttrValue = number | number[] | string | HostTensor | { f: number } | { floats: number[] };
export type Attrs = Record<string, AttrValue>;

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  name: string;
  domain?: string;
}

export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** Undefined when the shape is not known statically. */
  dims?: Dim[];
}

/** Shape inference hook supplied by the op registry (kept out of this file so graph/ does not import ops/). */
export type ShapeInferer = (g: Graph, node: Node) => (number[] | undefined)[] | undefined;

let shapeInferer: ShapeInferer | undefined;
export function setShapeInferer(f: ShapeInferer): void {
  shapeInferer = f;
}

export function f(v: number): { f: number } {
  return { f: v };
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, HostTensor>();
  /** Known static shapes and dtypes of values. */
  readonly shapes = new Map<string, number[]>();
  readonly dtypes = new Map<string, DType>();
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();

  constructor(readonly name = "convnext") {}

  /** A fresh value name based on `hint`. */
  fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name); i++) name = `${hint}_${i}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, dims: Dim[]): string {
    if (this.used.has(name)) throw new Error(`graph value '${name}' already exists`);
    this.used.add(name);
    this.inputs.push({ name, dtype, dims });
    this.dtypes.set(name, dtype);
    if (dims.every((d) => typeof d === "number")) this.shapes.set(name, dims as number[]);
    return name;
  }

  initializer(name: string, t: HostTensor): string {
    const n = this.fresh(name);
    this.initializers.set(n, t);
    this.shapes.set(n, [...t.dims]);
    this.dtypes.set(n, t.dtype);
    return n;
  }

  /** A small constant, shared by every node that asks for the same value. */
  constant(t: HostTensor, hint = "const"): string {
    const key = `${t.dtype}|${t.dims.join(",")}|${Array.from(t.data as ArrayLike<number | bigint>).join(",")}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = this.initializer(hint, t);
    this.constCache.set(key, name);
    return name;
  }

  output(name: string, dims?: Dim[]): void {
    const shape = this.shapes.get(name);
    this.outputs.push({ name, dtype: this.dtypes.get(name) ?? "float32", dims: dims ?? shape });
  }

  /** Appends a node; returns its output names. `""` as an input means "omitted optional input". */
  add(op: string, inputs: string[], attrs: Attrs = {}, nOutputs = 1, hint?: string): string[] {
    for (const x of inputs) if (x !== "" && !this.used.has(x)) throw new Error(`${op}: unknown input '${x}'`);
    const base = hint ?? op.toLowerCase();
    const outputs = Array.from({ length: nOutputs }, (_, i) =>
      this.fresh(nOutputs === 1 ? base : `${base}_${i}`),
    );
    const node: Node = { op, inputs, outputs, attrs, name: this.fresh(`n_${base}`) };
    this.nodes.push(node);
    const dtype = inputs[0] ? this.dtypes.get(inputs[0]) : undefined;
    for (const o of outputs) if (dtype) this.dtypes.set(o, dtype);
    const shapes = shapeInferer?.(this, node);
    shapes?.forEach((s, i) => {
      if (s) this.shapes.set(outputs[i], s);
    });
    return outputs;
  }

  /** Single-output convenience. */
  op(op: string, inputs: string[], attrs: Attrs = {}, hint?: string): string {
    return this.add(op, inputs, attrs, 1, hint)[0];
  }

  /** Renames a value wherever it appears: graph inputs and outputs, nodes, initializers, known shapes. */
  rename(from: string, to: string): void {
    if (!this.used.has(from)) throw new Error(`rename: unknown value '${from}'`);
    if (this.used.has(to)) throw new Error(`rename: graph value '${to}' already exists`);
    this.used.add(to);
    const swap = (v: string) => (v === from ? to : v);
    for (const v of [...this.inputs, ...this.outputs]) v.name = swap(v.name);
    for (const n of this.nodes) {
      n.inputs = n.inputs.map(swap);
      n.outputs = n.outputs.map(swap);
    }
    for (const map of [this.initializers, this.shapes, this.dtypes] as Map<string, unknown>[]) {
      if (map.has(from)) {
        map.set(to, map.get(from));
        map.delete(from);
      }
    }
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`shape of '${name}' is not known (build the graph with a static input shape)`);
    return s;
  }

  /** The value of an initializer as numbers (for Reshape shapes, Reduce axes, ...). */
  constValue(name: string): number[] | undefined {
    const t = this.initializers.get(name);
    return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
  }
}
