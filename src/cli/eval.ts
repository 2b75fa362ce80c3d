/**
 * `convnext eval --data <set>`: top-1 / top-5 accuracy of a model on a labelled image set, preprocessed as the
 * weights' own evaluation (PIL-exact resize and crop, see src/preprocess/):
 * - `fashion-mnist` (or a folder of IDX files): the test split; without --weights/--model, the bundled model;
 * - an ImageNet-style folder (one `n01440764`-like synset folder per class): the class index comes from the
 *   synset's position in the 1k (or 22k) list, so `--model convnext_tiny.fb_in1k --data imagenet/val`
 *   reproduces the published top-1;
 * - any other class-folder tree: classes by name when the weights carry those labels (a model trained by
 *   `convnext train`), else in the folder's sorted order; folders naming some labels but not all are refused.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { ImageClassifier } from "../api/classify-node.ts";
import { BUNDLED_MODEL_PATH, licenseNotice, openModel } from "../api/model-source-node.ts";
import type { Precision } from "../graph/precision.ts";
import type { PreprocessConfig } from "../preprocess/transform.ts";
import { LIMITS } from "../tensor/limits.ts";
import { loadLabels } from "../pretrained/labels-node.ts";
import type { LabelSet } from "../pretrained/registry.ts";
import { type EvalData, openEvalData } from "../train/datasets-node.ts";
import { downloadProgress, withFilesDownloadProgress } from "./download-progress.ts";
import { UsageError } from "./errors.ts";
import { positiveInt, PRECISION_HELP, precisionOption, threadsOption } from "./options.ts";
import { notice, showProgress } from "./output.ts";

interface EvalOptions {
  data: string;
  weights?: string;
  model?: string;
  json?: boolean;
  batch: number;
  threads?: number;
  precision: Precision;
  offline?: boolean;
  useEma?: boolean;
}

export interface Accuracy {
  top1: number;
  top5: number;
  n: number;
}

/** The safetensors `__metadata__` of a file, reading only its header (undefined when it is not safetensors). */
function safetensorsMetadata(path: string): Record<string, string> | undefined {
  let fd: number | undefined;
  try {
    // Non-blocking, and regular files only: a FIFO or a device is left for the checkpoint reader to refuse.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return undefined;
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || n > LIMITS.maxSafetensorsHeaderBytes) return undefined;
    const json = Buffer.alloc(n);
    if (readSync(fd, json, 0, n, 8) !== n) return undefined;
    const header = JSON.parse(json.toString("utf8")) as { __metadata__?: Record<string, string> };
    return header.__metadata__ ?? {};
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Early Fashion-MNIST weights describe their preprocessing as `{cropMode: "pad", pad, inputSize}` (zero-pad
 * each side). That is timm's centre crop of the unresized image to inputSize: resize the short side to
 * inputSize − 2·pad (a no-op on the stored images), then centre-crop with zero padding.
 */
export function padPreprocess(text: string | undefined): PreprocessConfig | undefined {
  if (text === undefined) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (o?.cropMode !== "pad") return undefined;
  const size = Number(o.inputSize);
  const pad = Number(o.pad);
  const triple = (v: unknown): [number, number, number] => {
    const l = (Array.isArray(v) ? v : [v]).map(Number);
    return l.length === 3 ? [l[0], l[1], l[2]] : [l[0], l[0], l[0]];
  };
  if (!(Number.isInteger(size) && Number.isInteger(pad) && size - 2 * pad > 0))
    throw new Error(`metadata 'preprocess' ${text}: needs integer inputSize and pad with inputSize > 2·pad`);
  return {
    inputSize: size,
    resizeSize: size - 2 * pad,
    cropPct: 1,
    cropMode: "center",
    interpolation: (o.interpolation as PreprocessConfig["interpolation"]) ?? "bilinear",
    mean: triple(o.mean),
    std: triple(o.std),
  };
}

const SYNSET = /^n\d{8}$/;
const SET_SIZES: Record<LabelSet, number> = { in1k: 1000, in22k: 21841 };

/**
 * The model's class index of every sample, and how it was found: ImageNet synsets by their list position,
 * else by label name when the model carries all of the folder's names, else the data set's own order.
 */
export function targetIndices(
  data: Pick<EvalData, "kind" | "classes" | "labels">,
  model: { numClasses: number; labels: readonly string[]; labelSource?: string },
): { targets: Int32Array; mapping: string } {
  const map = (index: (name: string, i: number) => number, mapping: string) => {
    const byClass = data.classes.map(index);
    return { targets: Int32Array.from(data.labels, (l) => byClass[l]), mapping };
  };
  const set = (Object.keys(SET_SIZES) as LabelSet[]).find((s) => SET_SIZES[s] === model.numClasses);
  if (data.kind === "folder" && set && data.classes.every((c) => SYNSET.test(c))) {
    const synsets = loadLabels(set).synsets;
    const position = new Map(synsets.map((s, i) => [s, i]));
    return map(
      (c) => {
        const i = position.get(c);
        if (i === undefined) throw new Error(`class folder ${c} is not an ImageNet-${set.slice(2)} synset`);
        return i;
      },
      `ImageNet-${set.slice(2)} synsets`,
    );
  }
  if (data.kind === "folder" && model.labelSource !== "generic") {
    const position = new Map(model.labels.map((s, i) => [s, i]));
    if (data.classes.every((c) => position.has(c))) return map((c) => position.get(c)!, "class names");
    // Some folders named after labels (ignoring case) and some not: the class order would score them against
    // the wrong labels without a word.
    const lower = new Set(model.labels.map((s) => s.toLowerCase()));
    if (data.classes.some((c) => lower.has(c.toLowerCase()))) {
      const unmatched = data.classes.filter((c) => !position.has(c));
      const shown = model.labels.slice(0, 10).join(", ") + (model.labels.length > 10 ? ", …" : "");
      throw new Error(
        `class folder${unmatched.length > 1 ? "s" : ""} ${unmatched.map((c) => `'${c}'`).join(", ")} match${unmatched.length > 1 ? "" : "es"} none of the model's labels (${shown}), which other folders name: name every folder after a label`,
      );
    }
  }
  if (data.classes.length > model.numClasses) {
    throw new Error(
      `the data has ${data.classes.length} classes but the model only ${model.numClasses}, and its labels do not name the class folders`,
    );
  }
  return map((_, i) => i, "class order");
}

function progressBar(total: number): cliProgress.SingleBar | undefined {
  if (!showProgress()) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: "[{bar}] {value}/{total} images | top-1 {top1} | {eta_formatted} left",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { top1: "-" });
  return bar;
}

/** The evaluation set, with a bar while Fashion-MNIST downloads. */
async function openDataWithProgress(data: string, offline?: boolean): Promise<EvalData> {
  return withFilesDownloadProgress((onProgress) =>
    openEvalData(data, { onProgress, offline: offline ? true : undefined }),
  );
}

async function evaluate(opts: EvalOptions): Promise<void> {
  const data = await openDataWithProgress(opts.data, opts.offline);
  if (!opts.weights && !opts.model && data.kind !== "idx")
    throw new UsageError("choose the model to evaluate: --weights <file> or --model <arch.tag>");
  const local = opts.weights ?? (opts.model ? undefined : BUNDLED_MODEL_PATH);
  const preprocess = local ? padPreprocess(safetensorsMetadata(local)?.preprocess) : undefined;
  const progress = downloadProgress(opts.model ?? "weights");
  const source = await openModel({
    model: opts.model,
    weights: opts.weights,
    threads: opts.threads,
    precision: opts.precision,
    offline: opts.offline ? true : undefined,
    useEma: opts.useEma,
    preprocess,
    onDownloadProgress: progress.onProgress,
  }).finally(() => progress.stop());
  const licence = licenseNotice(source.name, source.license);
  if (licence) notice(licence);
  const clf = ImageClassifier.fromSource(source, { batch: opts.batch });
  try {
    const { targets, mapping } = targetIndices(data, {
      numClasses: clf.config.numClasses,
      labels: clf.labels,
      labelSource: source.labels.source,
    });
    notice(`${source.name} on ${data.root}: ${data.images.length} images, classes by ${mapping}`);
    const acc = { top1: 0, top5: 0, n: 0 };
    let skipped = 0;
    const bar = progressBar(data.images.length);
    try {
      for await (const item of clf.stream(data.images, { top: 5, batch: opts.batch })) {
        if (!item.ok) {
          skipped++;
          const line = `skipped ${item.file ?? `image ${item.index}`}: ${item.error.message}`;
          process.stderr.write(`${line}\n`);
          continue;
        }
        const top = item.top ?? [];
        const y = targets[item.index];
        if (top[0]?.index === y) acc.top1++;
        if (top.some((p) => p.index === y)) acc.top5++;
        acc.n++;
        bar?.update(item.index + 1, { top1: `${((100 * acc.top1) / acc.n).toFixed(2)}%` });
      }
    } finally {
      bar?.stop();
    }
    if (acc.n === 0) throw new Error(`none of the ${data.images.length} images could be read`);
    const result: Accuracy = { top1: acc.top1 / acc.n, top5: acc.top5 / acc.n, n: acc.n };
    if (skipped) process.stderr.write(`${skipped} image(s) could not be read and are not counted\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        `top-1 ${(100 * result.top1).toFixed(2)}%  top-5 ${(100 * result.top5).toFixed(2)}%  (${result.n} images)\n`,
      );
    }
  } finally {
    await clf.release();
  }
}

export function register(program: Command): void {
  program
    .command("eval")
    .description(
      "top-1 / top-5 accuracy on fashion-mnist's test set, an ImageNet-style val folder or a class folder",
    )
    .requiredOption(
      "--data <fashion-mnist|dir>",
      "fashion-mnist (Debian's package, else downloaded once), a folder of IDX files, or an image folder (class sub-folders)",
    )
    .option(
      "--weights <file>",
      "checkpoint: .safetensors, .pth or an HF folder (default for fashion-mnist: the bundled model)",
    )
    .option(
      "--model <arch.tag>",
      "pretrained weights by name (downloaded once), or the architecture of --weights",
    )
    .option("--batch <n>", "images per forward pass", positiveInt("--batch"), 32)
    .option("--threads <n>", "onnxruntime threads (default: all cores)", threadsOption)
    .option("--precision <p>", PRECISION_HELP, precisionOption, "fp32")
    .option("--use-ema", "use the EMA weights of a training checkpoint")
    .option("--offline", "never use the network (pretrained weights must be cached)")
    .option("--json", 'print {"top1", "top5", "n"} as JSON')
    .action(async (opts: EvalOptions) => {
      await evaluate(opts);
    });
}
