/**
 * convnext for browsers: the same models, checkpoints, preprocessing and classifier as the Node entry, on
 * onnxruntime-web. Only modules that run anywhere are here: no file system, network or native code (bytes in,
 * bytes out; decode images with a canvas or ImageBitmap into an RgbImage).
 *
 *   import { createWebClassifier } from "convnext/browser";
 *   const clf = await createWebClassifier({ weights: new Uint8Array(await (await fetch(url)).arrayBuffer()) });
 *   const [top] = await clf.classifyImages([{ data, width, height }]);
 */

// Models.
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

// Checkpoints from bytes.
export { parseSafetensors, type Safetensors, serializeSafetensors } from "./checkpoint/safetensors.ts";
export { readPth } from "./checkpoint/pth.ts";
export { type Convention, detectConvention, toTimm } from "./checkpoint/conventions.ts";
export { inferConfig } from "./checkpoint/infer-architecture.ts";
export { checkParams } from "./checkpoint/validate.ts";
export { type CheckpointFromBytes, readCheckpointBytes } from "./checkpoint/read-bytes.ts";

// Preprocessing (decoded pixels in).
export type { RgbImage } from "./preprocess/rgb-image.ts";
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

// The pretrained table (downloading is the page's business: `entry.files[i].url`).
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

// Running models.
export { createSession } from "./runtime/session-web.ts";
export type { Session, SessionOptions } from "./runtime/session.ts";
export { createWebClassifier, type WebClassifierOptions } from "./api/classifier-web.ts";
export { Classifier, type ClassifierParts, type Forward, type ImageOutputs } from "./api/classifier.ts";
export { type ChosenLabels, chooseLabels, type LabelSource } from "./api/labels.ts";
export { type Prediction, softmax, topK } from "./api/top-k.ts";
export { type PipelineTimings, runPipeline } from "./api/batch-pipeline.ts";

// Training.
export { StepRunner, type StepResult } from "./train/step-runner.ts";
export { AdamW, type AdamWConfig, type AdamWState } from "./train/adamw.ts";
export { learningRate, type LrSchedule } from "./train/schedule.ts";
