/**
 * A classifier from an exported .onnx alone: architecture, labels and preprocessing come from its
 * metadata_props, the forward pass from the file's own graph (so only the outputs it was exported with exist).
 */
import { readFile } from "node:fs/promises";
import { readOnnxSummary } from "../graph/onnx-read.ts";
import { checkInputTensor } from "../models/config.ts";
import { checkFeatures, type FeatureName } from "../models/convnext.ts";
import { BatchSessions } from "../node/batch-sessions.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { type ClassifierOptions, ImageClassifier, type RunnableModel } from "./classify-node.ts";
import { readExportMetadata } from "./onnx-metadata.ts";

export function isOnnxFile(path: string | undefined): path is string {
  return path?.toLowerCase().endsWith(".onnx") === true;
}

export async function openOnnxClassifier(
  path: string,
  opts: Pick<ClassifierOptions, "threads" | "exifRotate" | "maxPixels" | "batch"> = {},
): Promise<ImageClassifier> {
  const bytes = new Uint8Array(await readFile(path));
  const summary = readOnnxSummary(bytes, path);
  const facts = readExportMetadata(summary.metadata, path);
  if (summary.inputs.length !== 1)
    throw new Error(`${path}: expected one graph input, found ${summary.inputs.length}`);
  const input = summary.inputs[0].name;
  const available = new Set(summary.outputs.map((o) => o.name));
  const sessions = new BatchSessions(facts.config, bytes.byteLength, opts.threads);
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
