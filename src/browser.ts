/**
 * convnext for browsers: the same models, checkpoints, preprocessing and classifier as the Node entry, on
 * onnxruntime-web. Only modules that run anywhere are here: no file system, network or native code (bytes in,
 * bytes out; decode images with a canvas or ImageBitmap into an RgbImage).
 *
 *   import { createWebClassifier } from "convnext/browser";
 *   const clf = await createWebClassifier({ weights: new Uint8Array(await (await fetch(url)).arrayBuffer()) });
 *   const [top] = await clf.classifyImages([{ data, width, height }]);
 */

export * from "./portable.ts";

// Running models.
export {
  configureWebRuntime,
  createSession,
  type WebBackend,
  type WebRuntimeInfo,
  type WebRuntimeOptions,
  webRuntimeInfo,
} from "./runtime/session-web.ts";
export { createWebClassifier, type WebClassifierOptions } from "./api/classifier-web.ts";
export { type CheckpointBytesChoice, readCheckpointChoice } from "./api/checkpoint-bytes.ts";
export { Classifier, type ClassifierParts, type Forward, type ImageOutputs } from "./api/classifier.ts";
export { type ChosenLabels, chooseLabels, type LabelSource } from "./api/labels.ts";
export { type Prediction, softmax, topK } from "./api/top-k.ts";
export { type PipelineTimings, runPipeline } from "./api/batch-pipeline.ts";

// Training.
export { createWebFineTuner, type WebFineTunerOptions } from "./api/fine-tuner-web.ts";
export { type FineTuneSettings, type FineTuneStep, FineTuner } from "./api/fine-tuner.ts";
export { StepRunner, type StepResult } from "./train/step-runner.ts";
export { AdamW, type AdamWConfig, type AdamWState } from "./train/adamw.ts";
export { learningRate, type LrSchedule } from "./train/schedule.ts";
