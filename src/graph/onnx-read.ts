/** Reads back what an ONNX file says about itself: producer, opsets, metadata_props, graph inputs and outputs. */
import onnxProto from "onnx-proto";
import type { Dim } from "./graph.ts";

const { onnx } = onnxProto;

export interface OnnxValueSummary {
  name: string;
  /** TensorProto.DataType, 0 when the value declares no tensor type. */
  elemType: number;
  /** Undefined when the value declares no shape; a dimension with neither value nor name is `null`. */
  dims?: (Dim | null)[];
}

export interface OnnxModelSummary {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  /** Keys of metadata_props in file order (duplicates kept, which the record above would hide). */
  metadataKeys: string[];
  inputs: OnnxValueSummary[];
  outputs: OnnxValueSummary[];
}

type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

function summary(v: ValueInfoProto): OnnxValueSummary {
  const t = v.type?.tensorType;
  const shape = t?.shape;
  return {
    name: v.name ?? "",
    elemType: t?.elemType ?? 0,
    dims: shape
      ? (shape.dim ?? []).map((d) =>
          d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : null,
        )
      : undefined,
  };
}

export function readOnnxSummary(bytes: Uint8Array, source = "model"): OnnxModelSummary {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  // An empty file decodes as an empty model: say what it is, not which metadata it lacks.
  if (!model.graph) throw new Error(`${source}: not an ONNX model (no graph)`);
  const props = model.metadataProps ?? [];
  return {
    irVersion: Number(model.irVersion ?? 0),
    producerName: model.producerName ?? "",
    producerVersion: model.producerVersion ?? "",
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? "", version: Number(o.version) })),
    metadata: Object.fromEntries(props.map((p) => [p.key ?? "", p.value ?? ""])),
    metadataKeys: props.map((p) => p.key ?? ""),
    inputs: (model.graph?.input ?? []).map((v) => summary(v as ValueInfoProto)),
    outputs: (model.graph?.output ?? []).map((v) => summary(v as ValueInfoProto)),
  };
}
