/**
 * `convnext train`: trains a ConvNeXt on Fashion-MNIST or an image folder and writes, in --out,
 *   metrics.jsonl            one JSON line per step and per epoch (plus setup/resume/stop records)
 *   curves.svg, curves.html  loss and accuracy curves, redrawn after every epoch
 *   checkpoint.safetensors   everything needed to continue exactly (--resume), saved each epoch and on Ctrl-C
 *   model.safetensors        the weights to ship (the EMA when on), timm names, config/labels/preprocess metadata
 * Ctrl-C (or SIGTERM) saves a checkpoint and exits with 130 (143); a NaN/inf loss stops with a one-line error, keeping the last
 * checkpoint. A resumed run takes every setting from the checkpoint and ends with the same parameters as an
 * uninterrupted one.
 * Kills: checkpoint and model are saved as one group and repaired on resume (train/checkpoint-node.ts), temp
 * files of killed saves are removed at the next start, and a fresh run that fails before its first checkpoint
 * removes what it wrote. Undecodable images are skipped (replaced in training batches, dropped from validation),
 * reported once each and counted in metrics.jsonl and the final summary.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { removeStaleTemps } from "../checkpoint/write-atomic-node.ts";
import { type ConvNeXtConfig, DEFAULT_CONFIG, makeConfig, totalStride } from "../models/config.ts";
import { buildConvNeXt, paramShapes } from "../models/convnext.ts";
import { countMacs, countParams } from "../models/count.ts";
import { initParams } from "../models/init.ts";
import { modelConfig } from "../models/variants.ts";
import { fetchPretrainedFile } from "../pretrained/download-node.ts";
import { resolvePretrained } from "../pretrained/registry.ts";
import { createSession } from "../runtime/session-node.ts";
import { nodeStepEngine } from "../train/engine-node.ts";
import { type Float32Tensor, sameDims, shapeString } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";
import type { MixupOptions } from "../train/augment/mixup.ts";
import type { SampleTransform } from "../train/augment/sample-transform.ts";
import { loadTrainCheckpoint, saveTrainRun, syncModelWithCheckpoint } from "../train/checkpoint-node.ts";
import type { Batch } from "../train/data/batch.ts";
import { BatchLoader } from "../train/data/loader-node.ts";
import { openTrainingData, type TrainingData } from "../train/datasets-node.ts";
import { withFilesDownloadProgress } from "./download-progress.ts";
import { UsageError } from "./errors.ts";
import { type EvalResult, Evaluator } from "../train/evaluate.ts";
import {
  getPreset,
  PRESET_NAMES,
  type PresetName,
  presetDropPath,
  recipeTransforms,
  SMALL_IMAGE_MODEL,
  scaledLr,
  type TrainPreset,
} from "../train/presets.ts";
import { Rng } from "../train/rng.ts";
import { convnextTrainable } from "../train/trainable.ts";
import { NonFiniteLossError, type TrainConfig, Trainer, type TrainState } from "../train/trainer.ts";
import { boundedPositiveInt, nonNegativeNumber, positiveInt, threadsOption } from "./options.ts";
import { notice, printJson } from "./output.ts";
import { checkRunFolder, refuseInputAsOutput } from "./output-guard.ts";
import { defaultOutDir, peakRssMb, Progress, RunFiles, SkippedFiles } from "./train-output.ts";

interface TrainOptions {
  model?: string;
  config?: string;
  data?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  preset?: string;
  resolution?: number;
  valSplit: number;
  accumulate: number;
  emaDecay?: number;
  seed: number;
  threads?: number;
  replicas: number;
  workers: number;
  out?: string;
  resume?: string;
  init?: string;
  useEma?: boolean;
  numClasses?: number;
  inChans?: number;
  warmupEpochs?: number;
  weightDecay?: number;
  dropPath?: number;
  json?: boolean;
}

/** How the data pipeline was set up: stored in the checkpoint so a resumed run rebuilds it unchanged. */
export interface RunSetup {
  /** `--data` as given. */
  data: string;
  preset: PresetName;
  classes: string[];
  trainSize: number;
  valSize: number;
  valSplit: number;
  batch: number;
  resolution: number;
  train: SampleTransform;
  eval: SampleTransform;
  labelSmoothing: number;
  mixup: Omit<MixupOptions, "numClasses" | "labelSmoothing"> | null;
  /** What model.safetensors carries as `preprocess`. */
  preprocess: Record<string, unknown>;
}

/** Options that change the run: refused with --resume, which continues the saved run exactly. */
const RUN_OPTIONS = [
  "model",
  "config",
  "epochs",
  "batch",
  "lr",
  "preset",
  "resolution",
  "valSplit",
  "accumulate",
  "emaDecay",
  "seed",
  "init",
  "useEma",
  "numClasses",
  "inChans",
  "warmupEpochs",
  "weightDecay",
  "dropPath",
] as const;

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0, got '${v}'`);
    return n;
  };
}

function fraction(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be in [0, 1), got '${v}'`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0))
      throw new InvalidArgumentError(`${name} must be a number > 0, got '${v}'`);
    return n;
  };
}

// ---------------------------------------------------------------------------------------------------------
// The model

/** The bundled Fashion-MNIST model's architecture (docs/fashion-mnist): patchify 2×2 and 3×3 kernels suit 32×32 inputs. */

const CONFIG_KEYS = new Set(["dims", "depths", ...Object.keys(DEFAULT_CONFIG)]);

/** `--config`: a JSON object (inline or a file) of ConvNeXtConfig fields. */
async function readConfigJson(arg: string): Promise<Partial<ConvNeXtConfig>> {
  const inline = arg.trimStart().startsWith("{");
  const text = inline
    ? arg
    : new TextDecoder().decode(
        await readBoundedFile(arg, { maxBytes: LIMITS.maxConfigBytes, what: "--config" }),
      );
  const where = inline ? "--config" : `--config ${arg}`;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw new Error(`${where}: must be a JSON object`);
  const unknown = Object.keys(o).filter((k) => !CONFIG_KEYS.has(k));
  if (unknown.length)
    throw new Error(
      `${where}: unknown field(s) ${unknown.join(", ")} (known: ${[...CONFIG_KEYS].join(", ")})`,
    );
  const json = o as Partial<ConvNeXtConfig>;
  // A whole architecture is checked now, before the data is opened (its last fields come later).
  if (json.dims && json.depths)
    makeConfig({ ...json, dims: json.dims, depths: json.depths }, (why) => new Error(`${where}: ${why}`));
  return json;
}

interface InitWeights {
  tensors: Map<string, Float32Tensor>;
  config: ConvNeXtConfig;
  source: string;
}

/** `--init`: a checkpoint file/folder in any convention, or pretrained weights by name (downloaded once). */
async function readInitWeights(init: string, useEma?: boolean): Promise<InitWeights> {
  let path = init;
  if (!existsSync(init)) {
    const entry = resolvePretrained(init); // throws "unknown" with close names
    notice(`fetching ${entry.name}`);
    path = (await fetchPretrainedFile(entry)).path;
  }
  const ckpt = await loadCheckpointFile(path, { useEma });
  return { tensors: ckpt.tensors, config: ckpt.config, source: ckpt.source };
}

/** The architecture: a name, a JSON config (on top of the name when both), the --init weights', or the default. */
function chooseConfig(
  opts: TrainOptions,
  preset: TrainPreset,
  data: TrainingData,
  init: InitWeights | null,
  json: Partial<ConvNeXtConfig>,
): ConvNeXtConfig {
  let base: ConvNeXtConfig;
  if (opts.model) base = modelConfig(opts.model);
  else if (json.dims && json.depths) base = makeConfig({ dims: json.dims, depths: json.depths });
  else if (opts.config) throw new Error("--config needs dims and depths (or --model to start from)");
  else if (init) base = init.config;
  else base = data.smallImageSize !== null ? makeConfig(SMALL_IMAGE_MODEL) : modelConfig("convnext_atto");
  const inChans =
    opts.inChans ??
    json.inChans ??
    (init && !opts.model && !opts.config ? init.config.inChans : data.channels);
  const cfg = makeConfig({
    ...base,
    layerScaleInit: base.version === 1 ? preset.layerScaleInit : null,
    headInitScale: preset.headInitScale,
    dropPathRate: presetDropPath(preset, opts.model),
    ...json,
    numClasses: opts.numClasses ?? data.classes.length,
    inChans,
  });
  if (opts.dropPath !== undefined) cfg.dropPathRate = opts.dropPath;
  // The run's labels are the data's classes: a head of another size could not be read back with them.
  if (cfg.numClasses !== data.classes.length)
    throw new UsageError(
      `--num-classes ${cfg.numClasses} differs from the ${data.classes.length} classes of the data`,
    );
  if (cfg.inChans !== data.channels && !(data.channels === 1 && cfg.inChans === 3))
    throw new Error(
      `${init && inChans === init.config.inChans ? `--init ${init.source}: ` : ""}the model takes ${cfg.inChans} input channels but the images of --data ${opts.data} have ${data.channels}`,
    );
  return cfg;
}

/** Fresh parameters, overwritten by the --init weights where they fit (a head of another size stays fresh). */
function initialParams(
  cfg: ConvNeXtConfig,
  seed: number,
  init: InitWeights | null,
): Map<string, Float32Tensor> {
  const rng = new Rng(seed);
  const params = initParams(cfg, () => rng.normal());
  if (!init) return params;
  const freshHead: string[] = [];
  for (const [name, p] of params) {
    const t = init.tensors.get(name);
    if (t && sameDims(t.dims, p.dims)) {
      p.data.set(t.data);
      continue;
    }
    if (name.startsWith("head.fc.")) {
      freshHead.push(name);
      continue;
    }
    throw new Error(
      t
        ? `--init ${init.source}: '${name}' has shape ${shapeString(t.dims)}, the model needs ${shapeString(p.dims)}`
        : `--init ${init.source}: no tensor '${name}' (shape ${shapeString(p.dims)}) for this architecture`,
    );
  }
  const unused = [...init.tensors.keys()].filter((k) => !params.has(k));
  if (unused.length)
    throw new Error(
      `--init ${init.source}: ${unused.length} tensor(s) the model does not have, e.g. '${unused[0]}'`,
    );
  if (freshHead.length) notice(`--init: new classifier head (${cfg.numClasses} classes), the rest loaded`);
  return params;
}

// ---------------------------------------------------------------------------------------------------------
// Progress on stderr: a bar on a terminal, plain lines (first step, then every 10 s, and each epoch) otherwise

// ---------------------------------------------------------------------------------------------------------
// Setting a run up: fresh or resumed

interface Prepared {
  config: ConvNeXtConfig;
  train: TrainConfig;
  run: RunSetup;
  data: TrainingData;
  params: Map<string, Float32Tensor>;
  resume: TrainState | null;
  out: string;
}

/** The training data, with a bar while Fashion-MNIST downloads. */
async function openDataWithProgress(
  data: string,
  opts: { valSplit: number; seed: number },
): Promise<TrainingData> {
  return withFilesDownloadProgress((onProgress) =>
    openTrainingData(data, { ...opts, fetch: { onProgress } }),
  );
}

async function prepareFresh(opts: TrainOptions): Promise<Prepared> {
  if (!opts.data)
    throw new Error("--data is required (fashion-mnist, a folder of IDX files, or an image folder)");
  const presetName = (opts.preset ?? (opts.init ? "finetune" : "small-data")) as PresetName;
  const preset = getPreset(presetName);
  const out = resolve(opts.out ?? defaultOutDir());
  await checkRunFolder("--out", opts.out ?? out, opts.data);
  if (existsSync(join(out, "checkpoint.safetensors")))
    throw new Error(`${out} already holds a run: continue it with --resume ${out}, or choose another --out`);
  for (const file of RunFiles.outputs(out))
    await refuseInputAsOutput({ flag: "--out", path: file }, [
      { flag: "--init", path: opts.init, folder: true },
    ]);
  const json = opts.config ? await readConfigJson(opts.config) : {};
  const data = await openDataWithProgress(opts.data, { valSplit: opts.valSplit, seed: opts.seed });
  if (opts.useEma && !opts.init) throw new Error("--use-ema needs --init (a training checkpoint)");
  const init = opts.init ? await readInitWeights(opts.init, opts.useEma) : null;
  const config = chooseConfig(opts, preset, data, init, json);
  const batch = opts.batch ?? preset.batch;
  const resolution =
    opts.resolution ?? (data.smallImageSize !== null ? Math.ceil(data.smallImageSize / 32) * 32 : 224);
  const stride = totalStride(config);
  if (resolution < stride || resolution % stride !== 0)
    throw new UsageError(
      `--resolution ${resolution} must be a multiple of the model's total stride ${stride}`,
    );
  if (preset.mixup && batch % 2 !== 0) throw new UsageError(`mixup needs an even --batch, got ${batch}`);
  // A grey data set feeding a 3-channel model repeats its one channel, as PIL's convert('RGB').
  const repeat = (v: number[]) => (config.inChans === data.channels ? v : [v[0], v[0], v[0]]);
  const transforms = recipeTransforms(preset, {
    mean: repeat(data.mean),
    std: repeat(data.std),
    smallImageSize: data.smallImageSize,
    resolution,
  });
  const emaDecay = opts.emaDecay ?? preset.emaDecay;
  const train: TrainConfig = {
    epochs: opts.epochs ?? preset.epochs,
    lr: opts.lr ?? scaledLr(preset, batch * opts.accumulate),
    minLr: preset.minLr,
    warmupEpochs: opts.warmupEpochs ?? preset.warmupEpochs,
    weightDecay: opts.weightDecay ?? preset.weightDecay,
    accumulate: opts.accumulate,
    emaDecay: emaDecay === 0 ? null : emaDecay,
    layerDecay: preset.layerDecay,
    seed: opts.seed,
  };
  const run: RunSetup = {
    // Resolved, so a resume from another directory finds the data.
    data: opts.data === "fashion-mnist" ? opts.data : data.root,
    preset: presetName,
    classes: data.classes,
    trainSize: data.train.size,
    valSize: data.val?.size ?? 0,
    valSplit: opts.valSplit,
    batch,
    resolution,
    train: transforms.train,
    eval: transforms.eval,
    labelSmoothing: preset.labelSmoothing,
    mixup: preset.mixup,
    preprocess: transforms.preprocess,
  };
  return { config, train, run, data, params: initialParams(config, opts.seed, init), resume: null, out };
}

async function prepareResume(opts: TrainOptions, cmd: Command): Promise<Prepared> {
  const given = RUN_OPTIONS.filter((k) => cmd.getOptionValueSource(k) === "cli");
  if (given.length) {
    throw new Error(
      `--resume continues the saved run with its own settings; drop ${given.map(flag).join(", ")} (only --data, --out, --threads, --replicas and --workers may change)`,
    );
  }
  const arg = opts.resume as string;
  const path = existsSync(arg) && statSync(arg).isDirectory() ? join(arg, "checkpoint.safetensors") : arg;
  const ckpt = await loadTrainCheckpoint<RunSetup>(path);
  const out = resolve(opts.out ?? dirname(path));
  // Only in the folder this run writes to: a model.safetensors beside a checkpoint elsewhere is someone's file.
  const model = join(out, "model.safetensors");
  if (out === resolve(dirname(path)) && (await syncModelWithCheckpoint({ checkpoint: path, model }, ckpt)))
    process.stderr.write(`${model} did not match ${path} (a save was interrupted): rewritten from it\n`);
  const run = ckpt.run;
  const dataArg = opts.data ?? run.data;
  const data = await openDataWithProgress(dataArg, { valSplit: run.valSplit, seed: ckpt.train.seed });
  if (data.classes.join("\n") !== run.classes.join("\n"))
    throw new Error(
      `--data ${dataArg}: its ${data.classes.length} classes differ from the checkpoint's ${run.classes.length}`,
    );
  if (data.train.size !== run.trainSize || (data.val?.size ?? 0) !== run.valSize) {
    throw new Error(
      `--data ${dataArg}: ${data.train.size} training / ${data.val?.size ?? 0} validation samples, the checkpoint was trained on ${run.trainSize} / ${run.valSize}`,
    );
  }
  return {
    config: ckpt.config,
    train: ckpt.train,
    run: { ...run, data: dataArg },
    data,
    params: ckpt.state.params,
    resume: ckpt.state,
    out,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The run

async function train(opts: TrainOptions, cmd: Command): Promise<void> {
  const p = opts.resume ? await prepareResume(opts, cmd) : await prepareFresh(opts);
  const { config, run, data } = p;
  const stale = await removeStaleTemps(p.out);
  if (stale.files.length)
    process.stderr.write(
      `removed ${stale.files.length} temp file(s) of interrupted saves (${(stale.bytes / 1e6).toFixed(1)} MB) from ${p.out}\n`,
    );

  const numClasses = config.numClasses;
  const trainLoader = new BatchLoader({
    source: data.train.source,
    indices: data.train.indices,
    batchSize: run.batch,
    seed: p.train.seed,
    transform: run.train,
    numClasses,
    mixup: run.mixup ? { ...run.mixup, labelSmoothing: run.labelSmoothing } : null,
    labelSmoothing: run.labelSmoothing,
    workers: opts.workers,
  });
  const valLoader = data.val
    ? new BatchLoader({
        source: data.val.source,
        indices: data.val.indices,
        batchSize: Math.min(2 * run.batch, 256),
        seed: p.train.seed,
        transform: run.eval,
        numClasses,
        shuffle: false,
        dropLast: false,
        workers: Math.min(opts.workers, 1),
      })
    : null;
  // Opened after the loaders, which can refuse the data: a run that cannot start writes nothing.
  const files = new RunFiles(p.out);
  files.open(p.resume?.step ?? null);
  // Loader workers share the cores with onnxruntime: spinning threads would fight them.
  const session = (bytes: Uint8Array) => createSession(bytes, { threads: opts.threads, spinning: false });
  const res = run.resolution;
  let trainer: Trainer | undefined;
  let evaluator: Evaluator | undefined;
  let progress: Progress | undefined;
  let stopRequested = false;
  const log = (line: string) => (progress ? progress.log(line) : process.stderr.write(`${line}\n`));
  // Ctrl-C, and SIGTERM (a process manager's stop, a scheduler's pre-emption), stop after the step with a
  // checkpoint; a second one quits at once.
  let stopSignal: StopSignal = "SIGINT";
  const onStopSignal = (signal: StopSignal) => {
    if (stopRequested) {
      progress?.stop();
      if (!p.resume && lastSaved < 0) files.discard();
      process.exit(STOP_SIGNALS[signal].exitCode);
    }
    stopRequested = true;
    stopSignal = signal;
    const { said, again } = STOP_SIGNALS[signal];
    log(`${said}stopping after this step and saving a checkpoint (${again} again to quit at once)`);
  };
  process.on("SIGINT", onStopSignal);
  process.on("SIGTERM", onStopSignal);

  let lastSaved = p.resume?.step ?? -1;
  let lastVal: EvalResult | null = null;
  let stepsDone = p.resume?.step ?? 0;
  const skipped = new SkippedFiles(files, log);
  /** The loader's batches with their unloadable samples reported; a batch left empty (validation) is dropped. */
  async function* reported(batches: AsyncIterable<Batch>): AsyncGenerator<Batch> {
    for await (const b of batches) {
      skipped.note(b.skipped, stepsDone);
      if (b.dims[0] > 0) yield b;
    }
  }
  const title = `convnext train: ${basename(data.root)} (${config.dims.join("-")} / ${config.depths.join("-")})`;
  const summary = (): string[] => [
    `data ${data.root}: ${run.trainSize} training, ${run.valSize} validation images, ${numClasses} classes, ${res}×${res}`,
    `preset ${run.preset}; batch ${run.batch}×${p.train.accumulate}, lr ${p.train.lr.toExponential(2)}, ${p.train.epochs} epochs, EMA ${p.train.emaDecay ?? "off"}`,
    ...(opts.replicas > 1 ? [replicaSummary(opts.replicas, trainer?.replicaCount ?? 1, run.batch)] : []),
  ];

  /** Checkpoint and shipped weights; `val` is the validation result of exactly these weights, if any. */
  const save = async (state: TrainState, epochsDone: number, val: EvalResult | null) => {
    const meta: Record<string, string> = {
      format: "pt",
      config: JSON.stringify(config),
      labels: JSON.stringify(run.classes),
      preprocess: JSON.stringify(run.preprocess),
      epochs: String(epochsDone),
      steps: String(state.step),
      weights: p.train.emaDecay === null ? "model" : `ema ${p.train.emaDecay}`,
      trained_by: "convnext train",
    };
    if (val) meta.val_top1 = String(val.top1);
    const ckpt = {
      state,
      config,
      train: p.train,
      run,
      extra: { labels: JSON.stringify(run.classes), preprocess: JSON.stringify(run.preprocess) },
    };
    await saveTrainRun(files, ckpt, meta);
    lastSaved = state.step;
  };

  try {
    trainer = await Trainer.create(
      convnextTrainable(config),
      p.params,
      [run.batch, config.inChans, res, res],
      trainLoader.batchesPerEpoch(),
      p.train,
      nodeStepEngine({ threads: opts.threads, replicas: opts.replicas }),
    );
    if (p.resume) trainer.restore(p.resume);
    const t = trainer;
    evaluator = valLoader ? await Evaluator.create(config, [res, res], session) : undefined;
    const start = t.resumePosition;
    const startStep = p.resume?.step ?? 0;
    if (p.resume) {
      files.append({ kind: "resume", step: startStep, epoch: start.epoch, batch: start.batch });
    } else {
      // Counted on the training graph: same convs and linears, and every shape is static there.
      const macs = countMacs(
        buildConvNeXt(config, { training: true, inputShape: [1, config.inChans, res, res] }).graph,
      );
      files.append({
        kind: "setup",
        model: config,
        params: countParams(paramShapes(config)),
        macs,
        train: p.train,
        run: { ...run, classes: run.classes.length },
        totalSteps: t.totalSteps,
        stepsPerEpoch: trainLoader.batchesPerEpoch() / p.train.accumulate,
      });
    }
    notice(`${summary().join("\n")}\n${t.totalSteps - startStep} steps to go; writing to ${p.out}`);
    progress = new Progress(t.totalSteps, startStep, p.train.epochs);
    const prog = progress;
    const sessionStart = performance.now();
    const started = sessionStart - 1000 * files.secondsSoFar();

    const endEpoch = async (epoch: number, state: TrainState) => {
      lastVal =
        evaluator && valLoader
          ? await evaluator.evaluate(t.evalParams, reported(valLoader.batches({ epoch: 0, batch: 0 }, 1)))
          : null;
      const stats = files.epochTrainStats(epoch);
      files.append({
        kind: "epoch",
        epoch,
        step: state.step,
        trainLoss: stats.loss,
        trainAccuracy: stats.accuracy,
        val: lastVal,
        skippedFiles: skipped.count,
        seconds: (performance.now() - started) / 1000,
        peakRssMb: Math.round(peakRssMb()),
      });
      await save(state, epoch + 1, lastVal);
      await files.writeCharts(title, summary(), epoch + 1 < p.train.epochs);
      const val = lastVal
        ? ` | val top-1 ${(100 * lastVal.top1).toFixed(2)}% top-5 ${(100 * lastVal.top5).toFixed(2)}% loss ${lastVal.loss.toFixed(4)}`
        : "";
      prog.log(
        `epoch ${epoch + 1}/${p.train.epochs}: train loss ${stats.loss.toFixed(4)} acc ${(100 * stats.accuracy).toFixed(1)}%${val}`,
      );
    };

    let final: TrainState;
    try {
      final = await t.run(reported(trainLoader.batches(start, p.train.epochs)), {
        onStep: (s) => {
          stepsDone = s.step;
          files.append({ kind: "step", ...s, seconds: (performance.now() - started) / 1000 });
          prog.step(s);
        },
        onEpoch: endEpoch,
        shouldStop: () => stopRequested,
        onStop: async (state) => {
          if (state.step !== lastSaved) {
            await save(state, state.epoch, null);
            await files.writeCharts(title, summary(), false);
          }
          files.append({
            kind: "stop",
            step: state.step,
            epoch: state.epoch,
            batch: state.batch,
            reason: stopSignal,
            skippedFiles: skipped.count,
          });
        },
      });
    } catch (e) {
      prog.stop();
      if (!(e instanceof NonFiniteLossError)) throw e;
      files.append({ kind: "error", message: e.message });
      const kept = lastSaved >= 0 ? `${files.checkpoint} (step ${lastSaved})` : "none was written yet";
      throw new Error(`${e.message.replace(/; stopped.*$/, "")}; stopped; last good checkpoint: ${kept}`);
    }
    // The last epoch can end with fewer micro-batches than a step needs: save where the run ended.
    if (!stopRequested && final.step !== lastSaved) {
      await endEpoch(Math.max(0, final.epoch - (final.batch === 0 ? 1 : 0)), final);
    }
    prog.stop();
    const minutes = (performance.now() - sessionStart) / 60000;
    const finalVal = lastVal as EvalResult | null; // assigned inside the epoch hook
    const val = finalVal ? `, val top-1 ${(100 * finalVal.top1).toFixed(2)}%` : "";
    const verb = stopRequested
      ? `stopped at step ${final.step}/${t.totalSteps}`
      : `trained ${final.step - startStep} steps`;
    // A stopped run's count is in its stop record.
    if (!stopRequested) files.append({ kind: "summary", step: final.step, skippedFiles: skipped.count });
    if (opts.json) {
      printJson({
        out: p.out,
        model: files.model,
        checkpoint: files.checkpoint,
        step: final.step,
        totalSteps: t.totalSteps,
        stopped: stopRequested,
        minutes: Number(minutes.toFixed(2)),
        val: finalVal,
        skippedFiles: skipped.count,
        peakRssMb: Math.round(peakRssMb()),
      });
    } else {
      const bad = skipped.count
        ? `; ${skipped.count} undecodable file(s) skipped (listed in ${files.metrics})`
        : "";
      process.stdout.write(
        `${verb} in ${minutes.toFixed(1)} min${val}${bad}; peak memory (RSS) ${peakRssMb().toFixed(0)} MB\n` +
          `wrote ${files.model} and ${files.checkpoint}${stopRequested ? ` (continue with --resume ${p.out})` : ""}\n`,
      );
    }
    if (stopRequested) process.exitCode = STOP_SIGNALS[stopSignal].exitCode;
  } catch (e) {
    if (!p.resume && lastSaved < 0) files.discard();
    throw e;
  } finally {
    process.off("SIGINT", onStopSignal);
    process.off("SIGTERM", onStopSignal);
    progress?.stop();
    await trainLoader.close();
    await valLoader?.close();
    await trainer?.release();
    await evaluator?.release();
  }
}

function replicaSummary(requested: number, used: number, batch: number): string {
  if (used > 1)
    return `data parallel: ${used} single-thread sessions, ${batch / used} images of each batch apiece`;
  const why =
    batch % requested === 0
      ? "the model has batch statistics"
      : `batch ${batch} does not split ${requested} ways`;
  return `data parallel off (${why}): one session`;
}

/** The signals that stop a run cleanly: exit code 128 + the signal's number (as a shell reports it), and words. */
const STOP_SIGNALS = {
  SIGINT: { exitCode: 130, said: "", again: "Ctrl-C" },
  SIGTERM: { exitCode: 143, said: "SIGTERM: ", again: "a signal" },
} as const;
type StopSignal = keyof typeof STOP_SIGNALS;

export function register(program: Command): void {
  program
    .command("train")
    .description(
      "train a ConvNeXt on Fashion-MNIST or an image folder (checkpoints, metrics, curves, Ctrl-C safe)",
    )
    .option(
      "--model <name>",
      "architecture, e.g. convnext_atto (default: a small model for small images, else atto)",
    )
    .option(
      "--config <json|file>",
      "architecture as JSON: dims, depths, patchSize, kernelSize, … (on top of --model)",
    )
    .option(
      "--data <fashion-mnist|dir>",
      "fashion-mnist (Debian's package, else downloaded once), a folder of IDX files, or an image folder (class sub-folders)",
    )
    .option("--epochs <n>", "epochs (default: the preset's)", positiveInt("--epochs"))
    .option("--batch <n>", "images per micro-batch (default: the preset's)", positiveInt("--batch"))
    .option(
      "--lr <x>",
      "peak learning rate (default: the preset's, scaled linearly to batch × accumulate)",
      positiveNumber("--lr"),
    )
    .option(
      "--preset <name>",
      `recipe: ${PRESET_NAMES.join(", ")} (default small-data; finetune with --init)`,
      (v: string) => {
        if (!(PRESET_NAMES as readonly string[]).includes(v))
          throw new InvalidArgumentError(`--preset ${v} is not one of ${PRESET_NAMES.join(", ")}`);
        return v;
      },
    )
    .option(
      "--resolution <n>",
      "input side (default 32 for small images, 224 for photos)",
      boundedPositiveInt("--resolution", LIMITS.maxInputSide),
    )
    .option(
      "--val-split <f>",
      "share of the training data held out for validation when there is no val folder",
      fraction("--val-split"),
      0.1,
    )
    .option("--accumulate <n>", "micro-batches per optimizer step", positiveInt("--accumulate"), 1)
    .option(
      "--ema-decay <x>",
      "EMA of the weights per step; 0 = off (default: the preset's)",
      fraction("--ema-decay"),
    )
    .option("--seed <n>", "seed of every random draw", nonNegativeInt("--seed"), 0)
    .option("--threads <n>", "onnxruntime threads (default: all cores)", threadsOption)
    .option(
      "--replicas <n>",
      "split each batch over n single-thread sessions (data parallel; faster on small images)",
      positiveInt("--replicas"),
      1,
    )
    .option("--workers <n>", "data loader threads (0 = on the main thread)", nonNegativeInt("--workers"), 1)
    .option("--out <dir>", "output directory (default runs/<date-time>)")
    .option("--resume <dir|checkpoint>", "continue a run exactly from its checkpoint")
    .option(
      "--init <weights>",
      "start from these weights (a checkpoint or a pretrained name); a new head if sizes differ",
    )
    .option("--use-ema", "with --init: start from the EMA weights of a training checkpoint")
    .option(
      "--num-classes <n>",
      "classifier size (default: the data's classes)",
      positiveInt("--num-classes"),
    )
    .option(
      "--in-chans <n>",
      "input channels (default: the data's; 3 repeats grey images)",
      positiveInt("--in-chans"),
    )
    .option(
      "--warmup-epochs <x>",
      "linear warmup (default: the preset's)",
      nonNegativeNumber("--warmup-epochs"),
    )
    .option(
      "--weight-decay <x>",
      "AdamW decoupled weight decay (default: the preset's)",
      nonNegativeNumber("--weight-decay"),
    )
    .option(
      "--drop-path <x>",
      "stochastic depth rate (default: the preset's for the model size)",
      fraction("--drop-path"),
    )
    .option(
      "--json",
      "end with one summary line: {out, model, checkpoint, step, totalSteps, stopped, val, …}",
    )
    .action(async (opts: TrainOptions, cmd: Command) => {
      await train(opts, cmd);
    });
}
