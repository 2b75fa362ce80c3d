/**
 * A classifier from an exported .onnx alone: architecture, labels and preprocessing come from its
 * metadata_props, the forward pass from the file's own graph (so only the outputs it was exported with exist).
 */
import { readOnnxSummary } from "../graph/onnx-read.ts";
import { checkPrecision, type Precision } from "../graph/precision.ts";
import { checkInputTensor } from "../models/config.ts";
import { checkFeatures, type FeatureName } from "../models/convnext.ts";
import { BatchSessions } from "../node/batch-sessions.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";
import { type ClassifierOptions, ImageClassifier, type RunnableModel } from "./classify-node.ts";
import { readExportMetadata } from "./onnx-metadata.ts";

export function isOnnxFile(path: string | undefined): path is string {
  return path?.toLowerCase().endsWith(".onnx") === true;
}

/** An exported model is one protobuf message (we write no external data files), which protobuf caps at 2 GiB. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;

export interface OnnxClassifierOptions
  extends Pick<ClassifierOptions, "threads" | "exifRotate" | "maxPixels" | "batch"> {
  /**
   * The precision the file must have been exported at. A model's precision is fixed when it is exported, so
   * asking for another one is refused instead of silently running the file's.
   */
  precision?: Precision;
}

export async function openOnnxClassifier(
  path: string,
  opts: OnnxClassifierOptions = {},
): Promise<ImageClassifier> {
  const bytes = await readBoundedFile(path, { maxBytes: MAX_ONNX_BYTES, what: "exported model" });
  const summary = readOnnxSummary(bytes, path);
  const facts = readExportMetadata(summary.metadata, path);
  const exported = summary.metadata.precision ?? "fp32";
  if (opts.precision !== undefined) {
    const wanted = checkPrecision(opts.precision);
    if (wanted !== exported)
      throw new Error(
        `${path}: exported at precision ${exported}, not ${wanted}; precision is chosen when exporting (convnext export --precision ${wanted})`,
      );
  }
  if (summary.inputs.length !== 1)
    throw new Error(`${path}: expected one graph input, found ${summary.inputs.length}`);
  const input = summary.inputs[0].name;
  const available = new Set(summary.outputs.map((o) => o.name));
  const sessions = new BatchSessions(
    facts.config,
    bytes.byteLength,
    opts.threads,
    false,
    exported === "int8",
  );
  // Started now, as before batches existed, so that a file onnxruntime cannot load fails here, not at the first
  // image; larger batches start their worker sessions on first use.
  const size = facts.preprocess.config.inputSize;
  const [h, w] = typeof size === "number" ? [size, size] : size;
  await sessions.get("file", () => bytes, 1, h, w);
  const model: RunnableModel = {
    config: facts.config,
    forward: async (x: HostTensor, outputs: readonly FeatureName[] = ["logits"]) => {
      checkInputTensor(facts.config, x);
      checkFeatures(outputs, facts.config);
      const missing = outputs.filter((o) => !available.has(o));
      if (missing.length)
        throw new Error(
          `${path}: exported without output ${missing.join(", ")} (has ${[...available].join(", ")})`,
        );
      const [batch, , h, w] = x.dims;
      return (await sessions.get("file", () => bytes, batch, h, w)).run({ [input]: x }, outputs);
    },
    release: () => sessions.release(),
  };
  const info = { name: path, weightsPath: path, labelSource: "metadata" as const };
  return new ImageClassifier(model, facts.preprocess, facts.labels, info, opts);
}
