/**
 * convnext for Node: ConvNeXt V1/V2 built as ONNX graphs and run by onnxruntime-node.
 *
 *   import { classify, createClassifier, ConvNeXtModel } from "convnext";
 *   const [r] = await classify(["cat.jpg"], { model: "convnext_tiny.fb_in1k" });
 *
 * Browsers: import "convnext/browser" (the same API without file, network or native code).
 */

// Models: architecture as data, the builder, counts.
export type { ConvNeXtConfig } from "./models/config.ts";
export { DEFAULT_CONFIG, makeConfig } from "./models/config.ts";
export { MODEL_NAMES, modelConfig } from "./models/variants.ts";
export {
  type BuildOptions,
  type BuiltModel,
  buildConvNeXt,
  FEATURE_OUTPUTS,
  type FeatureName,
  paramShapes,
} from "./models/convnext.ts";
export { countMacs, countParams } from "./models/count.ts";
export { initParams } from "./models/init.ts";
export { toOnnxBytes } from "./graph/onnx.ts";
export type { DType, Float32Tensor, HostTensor, TensorData } from "./tensor/host-tensor.ts";
export { float32, numel, toFloat32 } from "./tensor/host-tensor.ts";

// Checkpoints.
export {
  type LoadedCheckpoint,
  type LoadOptions as CheckpointLoadOptions,
  loadCheckpointFile,
  saveSafetensors,
  writeFileAtomic,
} from "./checkpoint/load-node.ts";
export { parseSafetensors, type Safetensors, serializeSafetensors } from "./checkpoint/safetensors.ts";
export { readPth } from "./checkpoint/pth.ts";
export { type Convention, detectConvention, toTimm } from "./checkpoint/conventions.ts";
export { inferConfig } from "./checkpoint/infer-architecture.ts";
export { checkParams } from "./checkpoint/validate.ts";
export { type CheckpointFromBytes, readCheckpointBytes } from "./checkpoint/read-bytes.ts";

// Preprocessing.
export type { RgbImage } from "./preprocess/rgb-image.ts";
export { DEFAULT_MAX_PIXELS, type DecodeOptions, decodeImage } from "./preprocess/decode-node.ts";
export { type ResampleFilter, resizePil } from "./preprocess/resize-pil.ts";
export {
  batchTensors,
  centerCrop,
  evalResize,
  evalTransform,
  type PreprocessConfig,
  type PreprocessResult,
  resizeShortSide,
  toNormalizedTensor,
} from "./preprocess/transform.ts";
export {
  type ImagePreprocess,
  type PreparedImage,
  parsePreprocessJson,
  prepareImage,
  preprocessToJson,
  rgbToGreyRgb,
  TIMM_DEFAULT_PREPROCESS,
} from "./api/image-preprocess.ts";

// Pretrained weights.
export {
  type KeyConvention,
  type LabelSet,
  listPretrained,
  PRETRAINED,
  type PretrainedEntry,
  resolvePretrained,
  type WeightsFile,
  type WeightsLicense,
} from "./pretrained/registry.ts";
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
export type { Session, SessionOptions } from "./runtime/session.ts";

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
