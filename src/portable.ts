/**
 * The part of the public API that runs anywhere (no file system, network or native code): re-exported by both
 * the Node entry (index.ts) and the browser entry (browser.ts).
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

// Checkpoints from bytes (files: loadCheckpointFile in the Node entry).
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

// The pretrained table (downloads: fetchPretrained in the Node entry).
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

// The engine door (each entry exports its own createSession).
export type { Session, SessionOptions } from "./runtime/session.ts";
