/**
 * A Classifier in the browser: checkpoint bytes → ONNX graph with the weights baked in → onnxruntime-web.
 * The caller decodes images (canvas / ImageBitmap → RgbImage) and passes class names if the checkpoint does not
 * carry them (the ImageNet label files are package assets, not bundled code).
 */
import { toOnnxBytes } from "../graph/onnx.ts";
import type { FeatureName } from "../models/convnext.ts";
import { inferenceGraph } from "../models/inference-graph.ts";
import type { PreprocessConfig } from "../preprocess/transform.ts";
import { resolvePretrained } from "../pretrained/registry.ts";
import type { Session } from "../runtime/session.ts";
import { createSession } from "../runtime/session-web.ts";
import { readCheckpointBytes } from "../checkpoint/read-bytes.ts";
import { Classifier } from "./classifier.ts";
import { inputChannels, parsePreprocessJson, TIMM_DEFAULT_PREPROCESS } from "./image-preprocess.ts";
import { chooseLabels } from "./labels.ts";

export interface WebClassifierOptions {
  /** Checkpoint bytes: safetensors or a torch.save zip, any supported naming convention. */
  weights: Uint8Array;
  /** Name of the weights in messages. */
  source?: string;
  /** Pretrained entry the weights are (its preprocessing is used unless the checkpoint carries its own). */
  pretrained?: string;
  /** Parsed HF config.json for HF checkpoints. */
  hfConfig?: unknown;
  /** Class names (else: checkpoint metadata, HF id2label, or `class <i>`). */
  labels?: readonly string[];
  preprocess?: PreprocessConfig;
  /** WASM threads (default 1). */
  threads?: number;
  useEma?: boolean;
}

export async function createWebClassifier(opts: WebClassifierOptions): Promise<Classifier> {
  const source = opts.source ?? "weights";
  const ckpt = readCheckpointBytes(opts.weights, { source, useEma: opts.useEma, hfConfig: opts.hfConfig });
  const entry = opts.pretrained === undefined ? undefined : resolvePretrained(opts.pretrained);
  const { config, tensors } = ckpt;
  const channels = inputChannels(config.inChans, source);
  const preprocess = opts.preprocess
    ? { config: opts.preprocess, channels }
    : ckpt.metadata.preprocess !== undefined
      ? parsePreprocessJson(ckpt.metadata.preprocess, config.inChans, source)
      : { config: entry?.preprocess ?? TIMM_DEFAULT_PREPROCESS, channels };
  const labels = chooseLabels({
    numClasses: config.numClasses,
    given: opts.labels,
    metadata: ckpt.metadata,
    hfLabels: ckpt.labels,
    source,
  }).names;

  // One session per set of outputs, built on first use (as ConvNeXtModel does in Node).
  const sessions = new Map<string, Promise<Session>>();
  const session = (outputs: readonly FeatureName[]) => {
    const key = outputs.join(",");
    let s = sessions.get(key);
    if (!s) {
      // onnxruntime-web's WASM build lacks some com.microsoft contrib ops: standard ONNX only.
      const graph = inferenceGraph(config, tensors, outputs, { msOps: false });
      s = createSession(toOnnxBytes(graph), { threads: opts.threads });
      sessions.set(key, s);
    }
    return s;
  };
  return new Classifier({
    config,
    preprocess,
    labels,
    name: entry?.name ?? source,
    license: entry?.license,
    forward: async (x, outputs) => (await session(outputs)).run({ x }),
    release: async () => {
      for (const s of sessions.values()) await (await s).release();
      sessions.clear();
    },
  });
}
