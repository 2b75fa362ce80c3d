/**
 * The Node API for images: `classify` and `embed` for one-off calls, `createClassifier` to keep a model loaded
 * across calls. Inputs are file paths, encoded bytes or decoded pixels; batches are decoded (sharp, off the
 * JavaScript thread) while the previous batch runs.
 *
 *   const results = await classify(["cat.jpg"], { model: "convnext_tiny.fb_in1k", top: 5 });
 *   const clf = await createClassifier({ weights: "model.safetensors" });
 *   const { features } = await clf.embed(files, { features: ["pre_logits", "stage3"] });
 *   await clf.release();
 */
import { checkFeatures, type FeatureName } from "../models/convnext.ts";
import type { ConvNeXtModel } from "../node/model.ts";
import type { PreprocessConfig } from "../preprocess/transform.ts";
import type { Float32Tensor } from "../tensor/host-tensor.ts";
import { checkOptionNames } from "../tensor/option-names.ts";
import { emptyTimings, type Overlap, type PipelineTimings, runPipeline } from "./batch-pipeline.ts";
import { Classifier, stackFeatures } from "./classifier.ts";
import { type ImagePreprocess, inputChannels, TIMM_DEFAULT_PREPROCESS } from "./image-preprocess.ts";
import { type ImageInput, loadImageInput } from "./image-files-node.ts";
import type { LabelSource } from "./labels.ts";
import { type ModelSource, type ModelSourceOptions, openModel } from "./model-source-node.ts";
import type { Prediction } from "./top-k.ts";

export interface ClassifierOptions extends ModelSourceOptions {
  /** Apply the EXIF orientation before preprocessing (default false, as PIL and timm). */
  exifRotate?: boolean;
  /** Refuse images with more pixels than this (decompression-bomb guard; default PIL's limit). */
  maxPixels?: number;
  /** Images per forward pass (default 8). */
  batch?: number;
}

export interface ClassifyResult {
  /** The input's path, for path inputs. */
  file?: string;
  /** Most likely classes first. */
  top: Prediction[];
}

export interface Embeddings {
  /** Per image (row of every tensor), its path for path inputs. */
  files: (string | undefined)[];
  /** One tensor per requested feature, stacked over the images: (N, ...). */
  features: Partial<Record<FeatureName, Float32Tensor>>;
}

export interface StreamOptions {
  top?: number;
  features?: readonly FeatureName[];
  batch?: number;
  /** When the next batch is decoded (see batch-pipeline.ts; default "prepare"). */
  overlap?: Overlap;
  /** Accumulates decode / preprocess / model times when given. */
  timings?: PipelineTimings;
}

export type StreamItem =
  | {
      ok: true;
      index: number;
      file?: string;
      top?: Prediction[];
      features: Partial<Record<FeatureName, Float32Tensor>>;
    }
  | { ok: false; index: number; file?: string; error: Error };

export interface ClassifierInfo {
  /** Pretrained name or weights path. */
  name: string;
  weightsPath?: string;
  license?: string;
  labelSource?: LabelSource;
}

/** What the classifier runs: a ConvNeXtModel, or an exported .onnx opened alone (onnx-classifier-node.ts). */
export type RunnableModel = Pick<ConvNeXtModel, "config" | "forward" | "release">;

export class ImageClassifier extends Classifier {
  constructor(
    private readonly model: RunnableModel,
    preprocess: ImagePreprocess,
    labels: readonly string[],
    readonly info: ClassifierInfo,
    private readonly decodeOptions: { exifRotate?: boolean; maxPixels?: number; batch?: number } = {},
  ) {
    super({
      config: model.config,
      forward: (x, outputs) => model.forward(x, outputs),
      release: () => model.release(),
      preprocess,
      labels,
      name: info.name,
      license: info.license,
    });
  }

  /** Wraps an already built model (e.g. random weights); preprocessing defaults to timm's, labels to `class i`. */
  static fromModel(
    model: ConvNeXtModel,
    opts: { preprocess?: PreprocessConfig; labels?: readonly string[]; name?: string } & Pick<
      ClassifierOptions,
      "exifRotate" | "maxPixels" | "batch"
    > = {},
  ): ImageClassifier {
    const { numClasses, inChans } = model.config;
    const labels = opts.labels ?? Array.from({ length: numClasses }, (_, i) => `class ${i}`);
    const preprocess = {
      config: opts.preprocess ?? TIMM_DEFAULT_PREPROCESS,
      channels: inputChannels(inChans),
    };
    return new ImageClassifier(model, preprocess, labels, { name: opts.name ?? "model" }, opts);
  }

  static fromSource(source: ModelSource, opts: ClassifierOptions = {}): ImageClassifier {
    const info: ClassifierInfo = {
      name: source.name,
      weightsPath: source.weightsPath,
      license: source.license,
      labelSource: source.labels.source,
    };
    return new ImageClassifier(source.model, source.preprocess, source.labels.names, info, opts);
  }

  /**
   * Runs inputs through decode → preprocess → model in batches, yielding one item per input in order. An input
   * that cannot be decoded gives an `ok: false` item and the stream goes on.
   */
  async *stream(inputs: readonly ImageInput[], opts: StreamOptions = {}): AsyncGenerator<StreamItem> {
    checkInputList(inputs);
    const features = opts.features ? checkFeatures(opts.features, this.config) : undefined;
    const pipeline = runPipeline(inputs, {
      batch: opts.batch ?? this.decodeOptions.batch ?? 8,
      overlap: opts.overlap,
      timings: opts.timings ?? emptyTimings(),
      decode: (input, i) =>
        loadImageInput(input, i, {
          exifRotate: this.decodeOptions.exifRotate,
          maxPixels: this.decodeOptions.maxPixels,
        }),
      prepare: (img) => this.prepare(img).tensor,
      run: (batch) => this.run(batch, { top: opts.top, features }),
    });
    for await (const r of pipeline) {
      const file = typeof r.item === "string" ? r.item : undefined;
      const at = { index: r.index, ...(file !== undefined ? { file } : {}) };
      yield r.ok ? { ok: true, ...at, ...r.out } : { ok: false, ...at, error: r.error };
    }
  }

  /** Top-k classes of each input (default k = 5). Throws on the first input that cannot be decoded. */
  async classify(
    inputs: readonly ImageInput[],
    opts: { top?: number; batch?: number } = {},
  ): Promise<ClassifyResult[]> {
    const out: ClassifyResult[] = [];
    for await (const item of this.stream(inputs, { top: opts.top ?? 5, batch: opts.batch })) {
      if (!item.ok) throw item.error;
      out.push({ ...(item.file !== undefined ? { file: item.file } : {}), top: item.top ?? [] });
    }
    return out;
  }

  /** Features of the inputs, stacked (default: pooled `pre_logits`). Throws on the first undecodable input. */
  async embed(
    inputs: readonly ImageInput[],
    opts: { features?: readonly FeatureName[]; batch?: number } = {},
  ): Promise<Embeddings> {
    const features = checkFeatures(opts.features ?? ["pre_logits"], this.config);
    const rows = [];
    const files: (string | undefined)[] = [];
    for await (const item of this.stream(inputs, { features, batch: opts.batch })) {
      if (!item.ok) throw item.error;
      rows.push(item);
      files.push(item.file);
    }
    return { files, features: stackFeatures(rows, features) };
  }
}

const CLASSIFIER_OPTIONS: Record<keyof ClassifierOptions, true> = {
  model: true,
  weights: true,
  threads: true,
  precision: true,
  offline: true,
  useEma: true,
  labels: true,
  preprocess: true,
  onDownloadProgress: true,
  signal: true,
  exifRotate: true,
  maxPixels: true,
  batch: true,
};

/** A JavaScript caller's single path (a string is iterable: each character would be read as a file) is refused. */
function checkInputList(inputs: unknown): void {
  if (Array.isArray(inputs)) return;
  const got =
    typeof inputs === "string"
      ? `the string '${inputs.slice(0, 80)}'`
      : inputs === null
        ? "null"
        : typeof inputs;
  throw new Error(`images must be an array (of paths, bytes or RGB images), got ${got}`);
}

/** Loads a model for repeated use: `{ model: "arch.tag" }`, `{ weights: file }`, or neither (bundled model). */
export async function createClassifier(opts: ClassifierOptions = {}): Promise<ImageClassifier> {
  checkOptionNames(opts, CLASSIFIER_OPTIONS, "createClassifier");
  return ImageClassifier.fromSource(await openModel(opts), opts);
}

/** Top-k classes of each image with a model loaded for this call only. */
export async function classify(
  images: readonly ImageInput[],
  opts: ClassifierOptions & { top?: number } = {},
): Promise<ClassifyResult[]> {
  checkInputList(images);
  checkOptionNames(opts, { ...CLASSIFIER_OPTIONS, top: true }, "classify");
  const { top, ...rest } = opts;
  const clf = await createClassifier(rest);
  try {
    return await clf.classify(images, { top });
  } finally {
    await clf.release();
  }
}

/** Embeddings / feature maps of the images with a model loaded for this call only. */
export async function embed(
  images: readonly ImageInput[],
  opts: ClassifierOptions & { features?: readonly FeatureName[] } = {},
): Promise<Embeddings> {
  checkInputList(images);
  checkOptionNames(opts, { ...CLASSIFIER_OPTIONS, features: true }, "embed");
  const { features, ...rest } = opts;
  const clf = await createClassifier(rest);
  try {
    return await clf.embed(images, { features });
  } finally {
    await clf.release();
  }
}
