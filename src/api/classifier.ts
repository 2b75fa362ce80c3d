/**
 * A loaded model with what it takes to answer about images: its preprocessing and class names. Runtime-free
 * (the forward pass is passed in), so the same class serves Node (onnxruntime-node) and browsers
 * (onnxruntime-web); it takes decoded images, file handling lives in classify-node.ts.
 */
import type { ConvNeXtConfig } from "../models/config.ts";
import { checkFeatures, type FeatureName } from "../models/convnext.ts";
import type { RgbImage } from "../preprocess/rgb-image.ts";
import { batchTensors } from "../preprocess/transform.ts";
import { type Float32Tensor, float32, type HostTensor, shapeString } from "../tensor/host-tensor.ts";
import { type ImagePreprocess, type PreparedImage, prepareImage } from "./image-preprocess.ts";
import { type Prediction, predictionsFromLogits } from "./top-k.ts";

/** Runs a (N, C, H, W) batch and returns the requested outputs by name. */
export type Forward = (
  x: Float32Tensor,
  outputs: readonly FeatureName[],
) => Promise<Record<string, HostTensor>>;

export interface ClassifierParts {
  config: ConvNeXtConfig;
  forward: Forward;
  preprocess: ImagePreprocess;
  /** One name per class (ignored, may be empty, for a headless model). */
  labels: readonly string[];
  /** Frees the runtime session(s). */
  release?: () => Promise<void>;
  /** What the weights are: a pretrained name or a file. */
  name?: string;
  /** Licence of pretrained weights, when known. */
  license?: string;
}

export interface RunOptions {
  /** Return the k most likely classes (needs a classifier head). */
  top?: number;
  /** Feature maps / embeddings to return. */
  features?: readonly FeatureName[];
}

/** What one image gave. */
export interface ImageOutputs {
  top?: Prediction[];
  /** Each requested feature for this image alone (the batch axis removed). */
  features: Partial<Record<FeatureName, Float32Tensor>>;
}

/** Row i of a (N, ...) tensor as a tensor of shape (...). */
function row(t: HostTensor, i: number): Float32Tensor {
  const size = t.dims.slice(1).reduce((a, b) => a * b, 1);
  return float32(t.dims.slice(1), (t.data as Float32Array).slice(i * size, (i + 1) * size));
}

/** Stacks per-image tensors of one shape into (N, ...). */
export function stackTensors(list: readonly Float32Tensor[], what = "tensor"): Float32Tensor {
  if (list.length === 0) throw new Error(`${what}: nothing to stack`);
  const dims = list[0].dims;
  const size = list[0].data.length;
  const out = new Float32Array(list.length * size);
  list.forEach((t, i) => {
    if (t.data.length !== size || t.dims.join() !== dims.join()) {
      throw new Error(`${what}: item ${i} has shape ${shapeString(t.dims)}, item 0 has ${shapeString(dims)}`);
    }
    out.set(t.data, i * size);
  });
  return float32([list.length, ...dims], out);
}

export class Classifier {
  readonly config: ConvNeXtConfig;
  readonly preprocess: ImagePreprocess;
  readonly labels: readonly string[];
  readonly name?: string;
  readonly license?: string;
  private readonly forward: Forward;
  private readonly releaseFn?: () => Promise<void>;

  constructor(parts: ClassifierParts) {
    this.config = parts.config;
    this.preprocess = parts.preprocess;
    this.forward = parts.forward;
    this.releaseFn = parts.release;
    this.name = parts.name;
    this.license = parts.license;
    if (parts.config.inChans !== parts.preprocess.channels) {
      throw new Error(
        `${parts.name ?? "model"}: takes ${parts.config.inChans} input channels but its preprocessing gives ${parts.preprocess.channels}`,
      );
    }
    if (parts.config.numClasses > 0 && parts.labels.length !== parts.config.numClasses) {
      throw new Error(
        `${parts.name ?? "model"}: ${parts.labels.length} labels for ${parts.config.numClasses} classes`,
      );
    }
    this.labels = parts.labels;
  }

  /** Decoded image → model input (and the resized, cropped pixels). */
  prepare(img: RgbImage): PreparedImage {
    return prepareImage(img, this.preprocess);
  }

  /** One forward pass over prepared inputs (one batch); one result per input. */
  async run(inputs: readonly Float32Tensor[], opts: RunOptions): Promise<ImageOutputs[]> {
    const features = opts.features ? checkFeatures(opts.features, this.config) : [];
    const outputs = new Set<FeatureName>(features);
    if (opts.top !== undefined) {
      if (this.config.numClasses === 0) {
        throw new Error(
          `${this.name ?? "model"} has no classifier head (0 classes); use embed for its features`,
        );
      }
      outputs.add("logits");
    }
    if (outputs.size === 0) throw new Error("nothing to compute: ask for top-k classes or features");
    if (inputs.length === 0) return [];
    const result = await this.forward(batchTensors(inputs), [...outputs]);
    const top =
      opts.top !== undefined ? predictionsFromLogits(result.logits, opts.top, this.labels) : undefined;
    return inputs.map((_, i) => ({
      ...(top ? { top: top[i] } : {}),
      features: Object.fromEntries(features.map((f) => [f, row(result[f], i)])),
    }));
  }

  /** Top-k classes of each image. */
  async classifyImages(
    images: readonly RgbImage[],
    opts: { top?: number; batch?: number } = {},
  ): Promise<Prediction[][]> {
    const out: Prediction[][] = [];
    for (const chunk of chunks(images, opts.batch ?? 8)) {
      const results = await this.run(
        chunk.map((img) => this.prepare(img).tensor),
        { top: opts.top ?? 5 },
      );
      for (const r of results) out.push(r.top ?? []);
    }
    return out;
  }

  /** Features of the images, each stacked over the images: (N, ...). Default: pooled embeddings. */
  async embedImages(
    images: readonly RgbImage[],
    opts: { features?: readonly FeatureName[]; batch?: number } = {},
  ): Promise<Partial<Record<FeatureName, Float32Tensor>>> {
    const features = checkFeatures(opts.features ?? ["pre_logits"], this.config);
    const rows: ImageOutputs[] = [];
    for (const chunk of chunks(images, opts.batch ?? 8)) {
      rows.push(
        ...(await this.run(
          chunk.map((img) => this.prepare(img).tensor),
          { features },
        )),
      );
    }
    return stackFeatures(rows, features);
  }

  async release(): Promise<void> {
    await this.releaseFn?.();
  }
}

/** Per-image features → one (N, ...) tensor per feature. */
export function stackFeatures(
  rows: readonly ImageOutputs[],
  features: readonly FeatureName[],
): Partial<Record<FeatureName, Float32Tensor>> {
  if (rows.length === 0) return {};
  return Object.fromEntries(
    features.map((f) => [
      f,
      stackTensors(
        rows.map((r) => r.features[f] as Float32Tensor),
        f,
      ),
    ]),
  );
}

function* chunks<T>(list: readonly T[], size: number): Generator<T[]> {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`batch size must be a positive integer, got ${size}`);
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}
