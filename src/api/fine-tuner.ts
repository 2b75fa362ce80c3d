/**
 * Fine-tuning a checkpoint on a few labelled images: a new head for the given classes, then AdamW steps of the
 * one-graph training step (StepRunner), on whatever engine `session` opens (onnxruntime-web in a page,
 * onnxruntime-node in tests). The result saves as a safetensors checkpoint with its class names and preprocessing,
 * which every loader here (and `convnext classify --weights`) reads.
 *
 * Images are prepared once with the checkpoint's evaluation transform; steps cycle through them in a shuffled
 * order, a fixed number per step (the step graph has a static batch shape).
 */
import { serializeSafetensors } from "../checkpoint/safetensors.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import type { RgbImage } from "../preprocess/rgb-image.ts";
import { float32, type Float32Tensor } from "../tensor/host-tensor.ts";
import { freezeParams } from "../train/frozen.ts";
import { Rng } from "../train/rng.ts";
import { type CreateSession, StepRunner } from "../train/step-runner.ts";
import { convnextTrainable } from "../train/trainable.ts";
import { batchTensors } from "../preprocess/transform.ts";
import { type ImagePreprocess, prepareImage, preprocessToJson } from "./image-preprocess.ts";

export interface FineTuneSettings {
  /** Class names of the new head (at least 2). */
  classes: readonly string[];
  /** `head` (default): only the head learns, the rest is frozen; `all`: every layer. */
  train?: "head" | "all";
  /** AdamW learning rate; default 3e-3 for the head, 1e-4 for all layers. */
  lr?: number;
  /** AdamW decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Images per step (default 8, or fewer when fewer images are given). */
  batchSize?: number;
  /** Seed of the new head's weights and the image order (default 0). */
  seed?: number;
}

export interface FineTuneBase {
  config: ConvNeXtConfig;
  /** Every parameter of the starting checkpoint, timm names. */
  tensors: Map<string, Float32Tensor>;
  preprocess: ImagePreprocess;
}

export interface FineTuneStep {
  /** Steps taken so far, this one included. */
  step: number;
  loss: number;
}

/** From JavaScript anything can arrive; a misspelt `train: "heads"` must not quietly train the head. */
function checkSettings(s: FineTuneSettings): void {
  const { classes } = s;
  if (!Array.isArray(classes) || classes.length < 2)
    throw new Error(
      `fine-tuning needs a list of at least 2 class names, got ${Array.isArray(classes) ? classes.length : typeof classes}`,
    );
  const bad = classes.findIndex((c) => typeof c !== "string" || c === "");
  if (bad >= 0) throw new Error(`fine-tuning: class ${bad} is not a non-empty string`);
  const twice = classes.find((c, i) => classes.indexOf(c) !== i);
  if (twice !== undefined) throw new Error(`fine-tuning: class '${twice}' is named twice`);
  if (s.train !== undefined && s.train !== "head" && s.train !== "all")
    throw new Error(`fine-tuning: train must be "head" or "all", got ${JSON.stringify(s.train)}`);
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  if (s.lr !== undefined && !positive(s.lr))
    throw new Error(`fine-tuning: lr must be a number > 0, got ${s.lr}`);
  if (s.weightDecay !== undefined && !(positive(s.weightDecay) || s.weightDecay === 0))
    throw new Error(`fine-tuning: weightDecay must be a number ≥ 0, got ${s.weightDecay}`);
  if (s.batchSize !== undefined && !(Number.isInteger(s.batchSize) && s.batchSize > 0))
    throw new Error(`fine-tuning: batchSize must be a positive integer, got ${s.batchSize}`);
  if (s.seed !== undefined && !Number.isSafeInteger(s.seed))
    throw new Error(`fine-tuning: seed must be an integer, got ${s.seed}`);
}

export class FineTuner {
  readonly config: ConvNeXtConfig;
  readonly classes: readonly string[];
  readonly preprocess: ImagePreprocess;
  private readonly params: Map<string, Float32Tensor>;
  private readonly inputs: Float32Tensor[] = [];
  private readonly labels: number[] = [];
  private readonly rng: Rng;
  private order: number[] = [];
  private runner?: Promise<StepRunner>;
  private steps = 0;

  constructor(
    base: FineTuneBase,
    private readonly settings: FineTuneSettings,
    private readonly session: CreateSession,
  ) {
    checkSettings(settings);
    const n = settings.classes.length;
    this.classes = [...settings.classes];
    // No stochastic depth: a checkpoint's config may carry its pretraining rate, but a few images for a few
    // steps want every block every step (and the step graph then needs no drop-path masks).
    this.config = { ...base.config, numClasses: n, dropPathRate: 0 };
    this.preprocess = base.preprocess;
    this.rng = new Rng(settings.seed ?? 0);
    // Own copies: training updates them in place, and a checkpoint's tensors may be views into one file buffer.
    this.params = new Map(
      [...base.tensors]
        .filter(([name]) => !name.startsWith("head.fc."))
        .map(([name, t]) => [name, float32([...t.dims], Float32Array.from(t.data))]),
    );
    // timm's head init: weights ~ N(0, 0.02²) (truncation at 2σ hardly matters at this width), bias 0.
    const width = base.config.dims[base.config.dims.length - 1];
    const w = Float32Array.from({ length: n * width }, () => 0.02 * this.rng.normal());
    this.params.set("head.fc.weight", float32([n, width], w));
    this.params.set("head.fc.bias", float32([n], new Float32Array(n)));
  }

  /** Training images added so far. */
  get imageCount(): number {
    return this.inputs.length;
  }

  /** Adds training images with their class indices (into `classes`); before the first step only. */
  addImages(images: readonly RgbImage[], labels: readonly number[]): void {
    if (this.runner) throw new Error("images must be added before the first training step");
    if (images.length !== labels.length)
      throw new Error(`${images.length} images but ${labels.length} labels`);
    for (const [i, label] of labels.entries()) {
      if (!Number.isInteger(label) || label < 0 || label >= this.classes.length)
        throw new Error(`label ${label} of image ${i} is not a class index (0..${this.classes.length - 1})`);
      this.inputs.push(prepareImage(images[i], this.preprocess).tensor);
      this.labels.push(label);
    }
  }

  /** One AdamW step on the next batch of images; returns the batch's mean cross-entropy before the update. */
  async step(): Promise<FineTuneStep> {
    if (this.inputs.length === 0) throw new Error("no training images: call addImages first");
    this.runner ??= this.createRunner();
    const runner = await this.runner;
    const n = runner.batchShape[0];
    const picks = Array.from({ length: n }, () => this.nextIndex());
    const targets = new Float32Array(n * this.classes.length);
    picks.forEach((k, row) => {
      targets[row * this.classes.length + this.labels[k]] = 1;
    });
    const x = batchTensors(picks.map((k) => this.inputs[k]));
    const lr = this.settings.lr ?? (this.settings.train === "all" ? 1e-4 : 3e-3);
    const { loss } = await runner.step(x, float32([n, this.classes.length], targets), lr);
    this.steps++;
    return { step: this.steps, loss };
  }

  /** The fine-tuned model as safetensors bytes (timm names), with its class names and preprocessing. */
  save(): Uint8Array {
    return serializeSafetensors(this.params, {
      format: "pt",
      labels: JSON.stringify(this.classes),
      preprocess: preprocessToJson(this.preprocess),
    });
  }

  async release(): Promise<void> {
    if (this.runner) await (await this.runner).release();
    this.runner = undefined;
  }

  private async createRunner(): Promise<StepRunner> {
    const batch = Math.min(this.settings.batchSize ?? 8, this.inputs.length);
    const [c, h, w] = this.inputs[0].dims;
    const all = convnextTrainable(this.config);
    const model =
      this.settings.train === "all"
        ? all
        : freezeParams(all, new Map([...this.params].filter(([name]) => !name.startsWith("head."))));
    return StepRunner.create(model, this.params, [batch, c, h, w], this.session, {
      weightDecay: this.settings.weightDecay ?? 0.01,
    });
  }

  /** Cycles through the images in a new shuffled order each pass. */
  private nextIndex(): number {
    if (this.order.length === 0) {
      this.order = this.inputs.map((_, i) => i);
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
    }
    return this.order.pop()!;
  }
}
