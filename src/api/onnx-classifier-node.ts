/**
 * A classifier from an exported .onnx alone: architecture, labels and preprocessing come from its
 * metadata_props, the forward pass from the file's own graph (so only the outputs it was exported with exist).
 */
import { readFile } from "node:fs/promises";
import { readOnnxSummary } from "../graph/onnx-read.ts";
import type { FeatureName } from "../models/convnext.ts";
import { createSession } from "../runtime/session-node.ts";
import { Classifier } from "./classifier.ts";
import { readExportMetadata } from "./onnx-metadata.ts";

export async function openOnnxClassifier(path: string, opts: { threads?: number } = {}): Promise<Classifier> {
  const bytes = new Uint8Array(await readFile(path));
  const summary = readOnnxSummary(bytes, path);
  const facts = readExportMetadata(summary.metadata, path);
  const [input] = summary.inputs;
  if (summary.inputs.length !== 1)
    throw new Error(`${path}: expected one graph input, found ${summary.inputs.length}`);
  const available = new Set(summary.outputs.map((o) => o.name));
  const session = await createSession(bytes, { threads: opts.threads });
  return new Classifier({
    config: facts.config,
    preprocess: facts.preprocess,
    labels: facts.labels,
    name: path,
    forward: (x, outputs: readonly FeatureName[]) => {
      const missing = outputs.filter((o) => !available.has(o));
      if (missing.length)
        throw new Error(
          `${path}: exported without output ${missing.join(", ")} (has ${[...available].join(", ")})`,
        );
      return session.run({ [input.name]: x }, outputs);
    },
    release: () => session.release(),
  });
}
