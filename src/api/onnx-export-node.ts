/**
 * A model with its weights as one self-describing ONNX file: the inference graph, weights stored at the chosen
 * precision, every graph input and output typed and shaped, producer "convnext" with the package version, and
 * the architecture, labels and preprocessing in metadata_props (onnx-metadata.ts).
 */
import { toOnnxBytes } from "../graph/onnx.ts";
import { applyPrecision, type Precision } from "../graph/precision.ts";
import { buildConvNeXt, type FeatureName } from "../models/convnext.ts";
import { packageVersion } from "../node/package-version.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { type ExportedModelFacts, exportMetadata } from "./onnx-metadata.ts";

export const PRODUCER = "convnext";

export interface OnnxExportOptions {
  outputs?: readonly FeatureName[];
  precision?: Precision;
  /** Name of the image input (default `x`; Hugging Face tools expect `pixel_values`). */
  inputName?: string;
}

export function exportOnnx(
  model: ExportedModelFacts & { weights: Map<string, HostTensor> },
  opts: OnnxExportOptions = {},
): Uint8Array {
  const precision = opts.precision ?? "fp32";
  const { graph } = buildConvNeXt(model.config, { weights: model.weights, outputs: opts.outputs });
  if (opts.inputName !== undefined && opts.inputName !== "x") graph.rename("x", opts.inputName);
  applyPrecision(graph, precision);
  return toOnnxBytes(graph, {
    producer: PRODUCER,
    producerVersion: packageVersion(),
    metadata: exportMetadata(model, precision),
  });
}
