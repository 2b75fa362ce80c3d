/** Serialises the graph IR to ONNX ModelProto bytes (protobuf via onnx-proto). */
import onnxProto from "onnx-proto";
import { type DType, type HostTensor, numel } from "../tensor/host-tensor.ts";
import type { AttrValue, Dim, Graph, ValueInfo } from "./graph.ts";

const { onnx } = onnxProto;

/** The one opset every graph of this project targets (LayerNormalization needs 17; Reduce* take axes as inputs from 18). */
export const OPSET = 18;
/** The IR version released with opset 18 (ONNX 1.13); checkers refuse an opset newer than the IR version knows. */
export const IR_VERSION = 8;

const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

function tensorProto(name: string, t: HostTensor) {
  const data = t.data;
  if (data.length !== numel(t.dims))
    throw new Error(`initializer '${name}': data length does not match dims`);
  return onnx.TensorProto.create({
    name,
    dataType: ONNX_DTYPE[t.dtype],
    dims: t.dims,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function attribute(name: string, v: AttrValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") {
    if (!Number.isInteger(v))
      throw new Error(`attribute '${name}': ${v} is not an integer; wrap floats as {f: v}`);
    return onnx.AttributeProto.create({ name, type: A.INT, i: v });
  }
  if (typeof v === "string")
    return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if ("f" in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.f });
  if ("floats" in v) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
  return onnx.AttributeProto.create({ name, type: A.TENSOR, t: tensorProto(name, v) });
}

function valueInfo(v: ValueInfo) {
  const dim = (d: Dim) => (typeof d === "number" ? { dimValue: d } : { dimParam: d });
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: { elemType: ONNX_DTYPE[v.dtype], shape: v.dims ? { dim: v.dims.map(dim) } : undefined },
    },
  });
}

export interface ModelInfo {
  producer?: string;
  producerVersion?: string;
  docString?: string;
  /** ModelProto.metadata_props, in insertion order (keys are unique by construction). */
  metadata?: Record<string, string>;
}

export function toOnnxBytes(g: Graph, opts: ModelInfo = {}): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: g.name,
    node: g.nodes.map((n) =>
      onnx.NodeProto.create({
        name: n.name,
        opType: n.op,
        domain: n.domain ?? "",
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      }),
    ),
    initializer: [...g.initializers].map(([name, t]) => tensorProto(name, t)),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: opts.producer ?? "convnext.ts",
    producerVersion: opts.producerVersion ?? "",
    docString: opts.docString ?? "",
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    opsetImport: [
      { domain: "", version: OPSET },
      // onnxruntime's contrib domains (fused inference lowerings, int8, NCHWc convs), each imported only when a
      // node uses it.
      ...[...new Set(g.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))].map((domain) => ({
        domain,
        version: 1,
      })),
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
