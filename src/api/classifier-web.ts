/**
 * A Classifier in the browser: checkpoint bytes → ONNX graph with the weights baked in → onnxruntime-web.
 * The caller decodes images (canvas / ImageBitmap → RgbImage) and passes class names if the checkpoint does not
 * carry them (the ImageNet label files are package assets, not bundled code).
 */
import { toOnnxBytes } from "../graph/onnx.ts";
import type { FeatureName } from "../models/convnext.ts";
import { inferenceGraph } from "../models/inference-graph.ts";
import type { Session } from "../runtime/session.ts";
import { createSession, type WebBackend } from "../runtime/session-web.ts";
import { type CheckpointBytesChoice, readCheckpointChoice } from "./checkpoint-bytes.ts";
import { Classifier } from "./classifier.ts";

export interface WebClassifierOptions extends CheckpointBytesChoice {
  /** Backend of the page's first session (see configureWebRuntime); later sessions share it. */
  backend?: WebBackend;
  /** WASM threads of the page's first session (see configureWebRuntime). */
  threads?: number;
}

export async function createWebClassifier(opts: WebClassifierOptions): Promise<Classifier> {
  const { checkpoint, entry, preprocess, labels, source } = readCheckpointChoice(opts);
  const { config, tensors } = checkpoint;

  // One session per set of outputs, built on first use (as ConvNeXtModel does in Node).
  const sessions = new Map<string, Promise<Session>>();
  const session = (outputs: readonly FeatureName[]) => {
    const key = outputs.join(",");
    let s = sessions.get(key);
    if (!s) {
      // onnxruntime-web's WASM build lacks some com.microsoft contrib ops: standard ONNX only.
      const graph = inferenceGraph(config, tensors, outputs, { msOps: false });
      s = createSession(toOnnxBytes(graph), { backend: opts.backend, threads: opts.threads });
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
