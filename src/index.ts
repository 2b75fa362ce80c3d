/**
 * convnext for Node: ConvNeXt V1/V2 built as ONNX graphs and run by onnxruntime-node.
 *
 *   import { classify, createClassifier, ConvNeXtModel } from "convnext";
 *   const [r] = await classify(["cat.jpg"], { model: "convnext_tiny.fb_in1k" });
 *
 * Browsers: import "convnext/browser" (the same API without file, network or native code).
 */

export * from "./portable.ts";

// Checkpoints.
export {
  type LoadedCheckpoint,
  type LoadOptions as CheckpointLoadOptions,
  loadCheckpointFile,
  saveSafetensors,
  writeFileAtomic,
} from "./checkpoint/load-node.ts";

// Preprocessing.
export { DEFAULT_MAX_PIXELS, type DecodeOptions, decodeImage } from "./preprocess/decode-node.ts";

// Pretrained weights.
export {
  cacheDir,
  type FetchedWeights,
  type FetchOptions,
  fetchPretrained,
  fetchPretrainedFile,
  isOffline,
  type ProgressCallback,
} from "./pretrained/download-node.ts";
export { type Labels, loadLabels } from "./pretrained/labels-node.ts";

// Running models.
export { ConvNeXtModel, type LoadOptions as ModelLoadOptions } from "./node/model.ts";
export { createSession } from "./runtime/session-node.ts";

// Exported ONNX files: written with architecture, labels and preprocessing in metadata_props, and read back.
export { exportOnnx, type OnnxExportOptions } from "./api/onnx-export-node.ts";
export { openOnnxClassifier } from "./api/onnx-classifier-node.ts";
export { type ExportedModelFacts, readExportMetadata } from "./api/onnx-metadata.ts";
export { type OnnxModelSummary, readOnnxSummary } from "./graph/onnx-read.ts";
export { PRECISIONS, type Precision } from "./graph/precision.ts";

// From images to answers.
export {
  type ClassifierInfo,
  type ClassifierOptions,
  type ClassifyResult,
  classify,
  createClassifier,
  type Embeddings,
  embed,
  ImageClassifier,
  type StreamItem,
  type StreamOptions,
} from "./api/classify-node.ts";
export { Classifier, type ClassifierParts, type Forward, type ImageOutputs } from "./api/classifier.ts";
export { type ImageInput, IMAGE_EXTENSIONS, listImageFiles } from "./api/image-files-node.ts";
export {
  BUNDLED_MODEL_PATH,
  type ModelChoice,
  type ModelSource,
  type ModelSourceOptions,
  modelPreprocess,
  openModel,
} from "./api/model-source-node.ts";
export { type ChosenLabels, chooseLabels, type LabelSource } from "./api/labels.ts";
export { type Prediction, softmax, topK } from "./api/top-k.ts";
export { type PipelineTimings, runPipeline } from "./api/batch-pipeline.ts";

// Training.
export { StepRunner, type StepResult } from "./train/step-runner.ts";
export { AdamW, type AdamWConfig, type AdamWState } from "./train/adamw.ts";
export { learningRate, type LrSchedule } from "./train/schedule.ts";
