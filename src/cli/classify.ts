/**
 * `convnext classify <images|dirs…>`: the k most likely classes of each image.
 * Also home of what the image commands share (model options, opening the model with a download bar, walking
 * the inputs with a progress bar and the skip rules), which `embed` imports.
 *
 * Bad files: one inside a directory is reported on stderr (`skipped <file>: <reason>`) and the run goes on; one
 * named on the command line is an error (`convnext: <file>: <reason>`), the other inputs still run, and the
 * exit code is 1. The exit code is also 1 when no image at all could be read. A path that does not exist stops
 * the run before it starts (a typo should not cost a long run).
 */
import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import { ImageClassifier, type StreamItem, type StreamOptions } from "../api/classify-node.ts";
import { listImageFiles } from "../api/image-files-node.ts";
import { licenseNotice, openModel } from "../api/model-source-node.ts";
import { isOnnxFile, openOnnxClassifier } from "../api/onnx-classifier-node.ts";
import { DECODER_MAX_PIXELS, DEFAULT_MAX_PIXELS } from "../preprocess/decode-node.ts";
import type { Precision } from "../graph/precision.ts";
import { downloadProgress } from "./download-progress.ts";
import { UsageError } from "./errors.ts";
import { notice, showProgress } from "./output.ts";
import {
  boundedPositiveInt,
  positiveInt,
  PRECISION_HELP,
  precisionOption,
  threadsOption,
} from "./options.ts";

export interface ImageCommandOptions {
  model?: string;
  weights?: string;
  threads?: number;
  /** Undefined unless given: an exported .onnx then keeps the precision it was exported at. */
  precision?: Precision;
  offline?: boolean;
  useEma?: boolean;
  exifRotate?: boolean;
  maxPixels?: number;
  batch: number;
}

/** The options every image command takes. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option(
      "--model <arch.tag>",
      "pretrained weights by name (downloaded once), or the architecture of --weights",
    )
    .option("--weights <file>", "checkpoint: .safetensors, .pth or an HF folder (any naming convention)")
    .option("--batch <n>", "images per forward pass", positiveInt("--batch"), 8)
    .option("--threads <n>", "onnxruntime threads (default: all cores)", threadsOption)
    .option("--precision <p>", `${PRECISION_HELP} (default: fp32; an .onnx keeps its own)`, precisionOption)
    .option("--exif-rotate", "apply the EXIF orientation (PIL and timm do not, except for TIFF)")
    .option(
      "--max-pixels <n>",
      `refuse images with more pixels than this (default ${DEFAULT_MAX_PIXELS}, PIL's limit)`,
      boundedPositiveInt("--max-pixels", DECODER_MAX_PIXELS),
    )
    .option("--use-ema", "use the EMA weights of a training checkpoint")
    .option("--offline", "never use the network (pretrained weights must be cached)");
}

/** Opens the chosen model for the image commands, with a download bar and the licence notice on stderr. */
export async function openImageModel(opts: ImageCommandOptions): Promise<ImageClassifier> {
  // An exported .onnx carries its architecture, labels and preprocessing: nothing else to choose.
  const onnx = [opts.weights, opts.model].find(isOnnxFile);
  if (onnx !== undefined) {
    if (opts.weights !== undefined && opts.model !== undefined)
      throw new UsageError(`${onnx}: an exported model takes no --model/--weights beside it`);
    if (opts.useEma)
      throw new UsageError(`${onnx}: --use-ema reads a training checkpoint, not an exported model`);
    return openOnnxClassifier(onnx, {
      threads: opts.threads,
      exifRotate: opts.exifRotate,
      maxPixels: opts.maxPixels,
      batch: opts.batch,
      precision: opts.precision,
    });
  }
  const progress = downloadProgress(opts.model ?? "weights");
  try {
    const source = await openModel({
      model: opts.model,
      weights: opts.weights,
      threads: opts.threads,
      precision: opts.precision,
      offline: opts.offline ? true : undefined,
      useEma: opts.useEma,
      onDownloadProgress: progress.onProgress,
    });
    const licence = licenseNotice(source.name, source.license);
    if (licence) notice(licence);
    return ImageClassifier.fromSource(source, {
      exifRotate: opts.exifRotate,
      maxPixels: opts.maxPixels,
      batch: opts.batch,
    });
  } finally {
    progress.stop();
  }
}

/** `error.message` without a leading "<file>: ", for the `skipped <file>: <reason>` line. */
function reason(error: Error, file: string): string {
  return error.message.startsWith(`${file}: `) ? error.message.slice(file.length + 2) : error.message;
}

export interface WalkSummary {
  ok: number;
  skipped: number;
  failed: number;
}

/**
 * Lists the inputs, streams them through the model and hands each good result to `onResult`; reports bad files
 * by the rules in this file's header. Shows a progress bar on stderr when it is a terminal (and stdout is not
 * the same terminal, where the results themselves show progress). Sets the exit code; throws when no image
 * could be read at all.
 */
export async function walkImages(
  clf: ImageClassifier,
  paths: readonly string[],
  opts: StreamOptions & { stdoutIsOutput: boolean },
  onResult: (item: Extract<StreamItem, { ok: true }>) => void | Promise<void>,
): Promise<WalkSummary> {
  const listed = await listImageFiles(paths);
  if (listed.length === 0) throw new Error(`no images found in ${paths.join(", ")}`);
  const showBar = showProgress() && !(opts.stdoutIsOutput && process.stdout.isTTY);
  const multi = showBar
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          format: "[{bar}] {value}/{total} images | {eta_formatted} left",
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = multi?.create(listed.length, 0);
  const toStderr = (line: string) => (multi ? multi.log(`${line}\n`) : process.stderr.write(`${line}\n`));

  const summary: WalkSummary = { ok: 0, skipped: 0, failed: 0 };
  try {
    for await (const item of clf.stream(
      listed.map((l) => l.path),
      opts,
    )) {
      bar?.increment();
      if (item.ok) {
        summary.ok++;
        await onResult(item);
        continue;
      }
      const file = item.file ?? `image ${item.index}`;
      if (listed[item.index].explicit) {
        summary.failed++;
        toStderr(`convnext: ${item.error.message}`);
      } else {
        summary.skipped++;
        toStderr(`skipped ${file}: ${reason(item.error, file)}`);
      }
    }
  } finally {
    // log() lines wait for the next redraw and stop() drops them: draw once more first.
    multi?.update();
    multi?.stop();
  }
  if (summary.failed > 0) process.exitCode = 1;
  else if (summary.ok === 0) throw new Error(`none of the ${listed.length} images could be read`);
  return summary;
}

function topOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`--top must be a positive integer, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  addModelOptions(
    program
      .command("classify <inputs...>")
      .description(
        "top-k classes of images (files or directories, walked recursively); without --model/--weights the bundled Fashion-MNIST model",
      ),
  )
    .option("--top <k>", "how many classes to show", topOption, 5)
    .option("--json", "one JSON line per image: {file, top: [{label, index, prob}]}")
    .addHelpText(
      "after",
      "\nA bad file inside a directory is reported (skipped <file>: <reason>) and the run goes on; a bad file\n" +
        "named on the command line is an error (exit code 1, the other inputs still run). The exit code is also 1\n" +
        "when no image could be read; a path that does not exist stops the run before it starts.",
    )
    .action(async (inputs: string[], opts: ImageCommandOptions & { top: number; json?: boolean }) => {
      const clf = await openImageModel(opts);
      try {
        await walkImages(clf, inputs, { top: opts.top, batch: opts.batch, stdoutIsOutput: true }, (item) => {
          const top = item.top ?? [];
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ file: item.file, top })}\n`);
            return;
          }
          const lines = top.map((p) => `  ${p.prob.toFixed(4)}  ${p.label} (${p.index})`);
          process.stdout.write(`${item.file}\n${lines.join("\n")}\n`);
        });
      } finally {
        await clf.release();
      }
    });
}
