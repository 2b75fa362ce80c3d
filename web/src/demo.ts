/**
 * What the page does, without its DOM: the model in use, classification with the four stage maps, fine-tuning.
 * The page wires it to its controls; the browser tests drive the same functions through `window.demo`.
 */
import {
  type Classifier,
  configureWebRuntime,
  createWebClassifier,
  createWebFineTuner,
  type FineTuner,
  type Float32Tensor,
  type Prediction,
  type RgbImage,
  webRuntimeInfo,
} from "convnext/browser";

// Asked for in the address (?backend=webgpu&threads=1), else wasm with as many threads as isolation allows.
const params = new URLSearchParams(location.search);
configureWebRuntime({
  backend: params.get("backend") === "webgpu" ? "webgpu" : "wasm",
  ...(params.has("threads") ? { threads: Number(params.get("threads")) } : {}),
});

export const BUNDLED_MODEL = new URL("../../assets/models/fashion-mnist/model.safetensors", import.meta.url)
  .href;

export const STAGES = ["stage0", "stage1", "stage2", "stage3"] as const;

export interface Classified {
  top: Prediction[];
  logits: number[];
  maps: Float32Tensor[];
  ms: number;
}

let current: { name: string; classifier: Classifier; weights: Uint8Array } | undefined;

export function model(): { name: string; classifier: Classifier; weights: Uint8Array } {
  if (!current) throw new Error("no model loaded yet");
  return current;
}

/** Loads checkpoint bytes (any format and convention) as the model in use. */
export async function useCheckpoint(
  weights: Uint8Array,
  name: string,
): Promise<{ name: string; labels: string[] }> {
  const classifier = await createWebClassifier({ weights, source: name });
  await current?.classifier.release();
  current = { name, classifier, weights };
  return { name, labels: [...classifier.labels] };
}

export async function useBundledModel(): Promise<{ name: string; labels: string[] }> {
  const bytes = new Uint8Array(await (await fetch(BUNDLED_MODEL)).arrayBuffer());
  return useCheckpoint(bytes, "Fashion-MNIST (bundled)");
}

export async function classify(image: RgbImage): Promise<Classified> {
  const { classifier } = model();
  const x = classifier.prepare(image).tensor;
  const start = performance.now();
  const [out] = await classifier.run([x], { top: 5, features: [...STAGES, "logits"] });
  const ms = performance.now() - start;
  return {
    top: out.top ?? [],
    logits: Array.from(out.features.logits?.data ?? []),
    maps: STAGES.map((s) => out.features[s] as Float32Tensor),
    ms,
  };
}

export interface TrainRequest {
  classes: string[];
  images: RgbImage[];
  labels: number[];
  train: "head" | "all";
  steps: number;
  onStep?: (step: number, loss: number) => void;
  shouldStop?: () => boolean;
}

/** Fine-tunes the model in use; resolves with the losses and the fine-tuned checkpoint's bytes. */
export async function fineTune(
  req: TrainRequest,
): Promise<{ losses: number[]; weights: Uint8Array; msPerStep: number }> {
  const tuner: FineTuner = createWebFineTuner({
    weights: model().weights,
    source: model().name,
    classes: req.classes,
    train: req.train,
  });
  try {
    tuner.addImages(req.images, req.labels);
    const losses: number[] = [];
    let ms = 0;
    for (let i = 0; i < req.steps && !req.shouldStop?.(); i++) {
      const start = performance.now();
      const { loss } = await tuner.step();
      // The first step also builds the graph and its session: time the steps after it.
      if (i > 0) ms += performance.now() - start;
      losses.push(loss);
      req.onStep?.(i + 1, loss);
    }
    return { losses, weights: tuner.save(), msPerStep: ms / Math.max(1, losses.length - 1) };
  } finally {
    await tuner.release();
  }
}

export { webRuntimeInfo };
