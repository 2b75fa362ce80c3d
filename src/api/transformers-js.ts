/**
 * The model folder transformers.js (and transformers' AutoConfig / AutoImageProcessor) loads:
 *   config.json               HF ConvNextConfig / ConvNextV2Config fields, id2label and label2id
 *   preprocessor_config.json  ConvNextImageProcessor settings equivalent to our evaluation transform
 *   onnx/model<suffix>.onnx   input `pixel_values`, output `logits` (suffix by precision, as transformers.js
 *                             picks the file from its `dtype` option: "" for fp32, "_fp16" for fp16)
 *
 * ConvNextImageProcessor can say fewer things than our transforms: below 384 px it resizes the short side to
 * floor(size / crop_pct) and centre-crops (timm's 'center'), from 384 px it squashes to size × size (timm's
 * 'squash' with crop_pct 1). Anything else (other crops, non-square sizes, grayscale input, 'pad' framing) is
 * refused rather than exported with preprocessing that silently differs.
 */
import type { Precision } from "../graph/precision.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import type { ResampleFilter } from "../preprocess/resize-pil.ts";
import type { ImagePreprocess } from "./image-preprocess.ts";

/** transformers.js's DEFAULT_DTYPE_SUFFIX_MAPPING for the precisions we export. */
const FILE_SUFFIX: Record<Precision, string> = { fp32: "", fp16: "_fp16" };

/** PIL's resampling filter numbers, which HF processors store as `resample`. */
const PIL_RESAMPLE: Record<ResampleFilter, number> = {
  nearest: 0,
  lanczos: 1,
  bilinear: 2,
  bicubic: 3,
  box: 4,
  hamming: 5,
};

/** ConvNextImageProcessor switches from resize-and-crop to squashing at this size. */
const SQUASH_FROM = 384;

export function transformersJsModelFile(precision: Precision): string {
  return `onnx/model${FILE_SUFFIX[precision]}.onnx`;
}

/** config.json: the architecture in HF's field names, and the class names. */
export function transformersJsConfig(
  config: ConvNeXtConfig,
  labels: readonly string[],
  imageSize: number,
): Record<string, unknown> {
  const v2 = config.version === 2;
  return {
    architectures: [v2 ? "ConvNextV2ForImageClassification" : "ConvNextForImageClassification"],
    model_type: v2 ? "convnextv2" : "convnext",
    num_channels: config.inChans,
    patch_size: config.patchSize,
    num_stages: config.dims.length,
    hidden_sizes: config.dims,
    depths: config.depths,
    hidden_act: "gelu",
    initializer_range: 0.02,
    layer_norm_eps: config.headNormEps,
    ...(v2 ? {} : { layer_scale_init_value: config.layerScaleInit ?? 0 }),
    drop_path_rate: config.dropPathRate,
    image_size: imageSize,
    num_labels: labels.length,
    id2label: Object.fromEntries(labels.map((name, i) => [String(i), name])),
    label2id: Object.fromEntries(labels.map((name, i) => [name, i])),
  };
}

/** preprocessor_config.json, or a one-line error when the processor cannot reproduce the transform. */
export function transformersJsPreprocessor(p: ImagePreprocess, source: string): Record<string, unknown> {
  const refuse = (why: string) =>
    new Error(`${source}: preprocessing ${why}, which ConvNextImageProcessor cannot reproduce`);
  const { config } = p;
  if (p.channels !== 3) throw refuse("takes 1-channel (grayscale) input");
  if (p.pad) throw refuse(`frames the image with ${p.pad} zero pixels ('pad' mode)`);
  const [h, w] =
    typeof config.inputSize === "number" ? [config.inputSize, config.inputSize] : config.inputSize;
  if (h !== w) throw refuse(`has a non-square input size ${h}x${w}`);
  const target = config.resizeSize ?? Math.floor(h / config.cropPct);
  let cropPct: number;
  if (h >= SQUASH_FROM) {
    if (config.cropMode !== "squash" || target !== h)
      throw refuse(`at ${h} px is '${config.cropMode}' resizing to ${target} then cropping`);
    cropPct = 1;
  } else {
    if (config.cropMode !== "center") throw refuse(`below ${SQUASH_FROM} px is '${config.cropMode}'`);
    // The processor resizes to floor(size / crop_pct): pick a crop_pct that lands on our target exactly.
    cropPct = config.resizeSize === undefined ? config.cropPct : h / target;
    if (Math.floor(h / cropPct) !== target) cropPct = h / (target + 0.5);
  }
  return {
    image_processor_type: "ConvNextImageProcessor",
    do_resize: true,
    size: { shortest_edge: h },
    crop_pct: cropPct,
    resample: PIL_RESAMPLE[config.interpolation],
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...config.mean],
    image_std: [...config.std],
  };
}
