/**
 * `convnext roadmap --train <dataset>`: trains every roadmap step (or the listed ones) with one recipe, one seed
 * and the same batches, evaluates each on the test split, and writes the results: table.json / table.md,
 * settings.json (with the wall time), chart.svg and chart.html (Figure 2 of the paper, measured).
 *
 * The recipe is the small-data subset of the paper's: AdamW, cosine schedule with linear warmup, weight decay
 * 0.05, label smoothing 0.1, flip + pad-crop + random erasing. Left out, because a run of a few epochs on
 * 28×28 images cannot use them: mixup/CutMix, RandAugment, stochastic depth (the roadmap builder has none) and
 * the EMA (its 0.9999 horizon is longer than the whole run). Every step starts from its own init drawn from the
 * same seed and sees the identical batch sequence, so the rows differ by architecture only.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { countRoadmap, type Regime, roadmapSteps } from "../models/roadmap.ts";
import { initRoadmapParams, type RoadmapInit } from "../models/roadmap-init.ts";
import { createSession } from "../runtime/session-node.ts";
import { nodeStepEngine } from "../train/engine-node.ts";
import type { RgbImage } from "../train/augment/image.ts";
import { resizeBox } from "../train/augment/resize.ts";
import type { SampleTransform } from "../train/augment/sample-transform.ts";
import {
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnist,
  loadFashionMnist,
} from "../train/data/fashion-mnist-node.ts";
import { fashionMnistDir } from "../train/data/fashion-mnist-fetch-node.ts";
import { BatchLoader } from "../train/data/loader-node.ts";
import { fashionMnistSource } from "../train/data/sources-node.ts";
import { Rng } from "../train/rng.ts";
import { type ChartRow, figureLabel, roadmapChartHtml, roadmapChartSvg } from "../train/roadmap-chart.ts";
import { roadmapEvaluator } from "../train/roadmap-evaluate.ts";
import { roadmapTrainable, scaleRoadmapConfig } from "../train/roadmap-trainable.ts";
import { type TrainConfig, Trainer } from "../train/trainer.ts";
import { withFilesDownloadProgress } from "./download-progress.ts";
import { UsageError } from "./errors.ts";
import { checkRunFolder } from "./output-guard.ts";
import { notice } from "./output.ts";

export const ROADMAP_DATASETS = ["fashion-mnist"] as const;

export interface RoadmapTrainOptions {
  dataset: string;
  /** Directory of the data set's files (default: where its package installs them). */
  data?: string;
  regime: Regime;
  /** Step keys to train, in the table's order; default all. */
  steps?: string[];
  /** May be fractional (a part of the last epoch). */
  epochs: number;
  /** Input side; a multiple of 32 (the networks downsample 32×). */
  resolution: number;
  widthScale: number;
  depthScale: number;
  batch: number;
  seed: number;
  lr: number;
  /** Weight init scheme (default trunc-normal). */
  init?: RoadmapInit;
  threads?: number;
  /** The first N training and the first N test images only. */
  limit?: number;
  out: string;
}

export interface RoadmapTrainRow {
  step: string;
  /** Paper scale (224², 1000 classes), the keys of `roadmap --json`. */
  params: number;
  macs: number;
  gmacs: number;
  paper_gflops: number;
  paper_top1: number | null;
  label: string;
  side_branch: boolean;
  /** The trained model at the run's settings. */
  run_params: number;
  run_macs: number;
  run_depths: number[];
  run_widths: number[];
  /** Test-split metrics, in percent (top-1/top-5) and nats. */
  top1: number;
  top5: number;
  test_loss: number;
  /** Mean over the last optimizer steps (augmented, label-smoothed batches in training mode). */
  final_train_loss: number;
  final_train_top1: number;
  train_seconds: number;
  eval_seconds: number;
}

/** Optimizer steps between loss lines in log.jsonl. */
const LOG_EVERY = 25;
const LABEL_SMOOTHING = 0.1;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Fashion-MNIST at `resolution`: the 28×28 images are scaled by resolution/32 first (no-op at 32), so the
 * garment fills the frame as at 32 and only the detail grows. The pad-crop transforms then place it on the
 * resolution² canvas (evaluation: centred; training: shifted by up to resolution/16 and flipped).
 */
function fashionMnistAt(ds: FashionMnist, resolution: number, limit?: number): FashionMnist {
  const n = Math.min(ds.n, limit ?? ds.n);
  const side = Math.round((ds.width * resolution) / 32);
  const src = ds.images.subarray(0, n * ds.width * ds.height);
  if (side === ds.width)
    return { ...ds, n, images: src, labels: ds.labels.subarray(0, n) } satisfies FashionMnist;
  const images = new Uint8Array(new SharedArrayBuffer(n * side * side));
  for (let i = 0; i < n; i++) {
    const img: RgbImage = {
      data: src.subarray(i * ds.width * ds.height, (i + 1) * ds.width * ds.height),
      width: ds.width,
      height: ds.height,
    };
    images.set(resizeBox(img, side, side, "bilinear").data, i * side * side);
  }
  return { ...ds, n, images, labels: ds.labels.subarray(0, n), width: side, height: side };
}

function transforms(resolution: number, side: number): { train: SampleTransform; test: SampleTransform } {
  const norm = { mean: [FASHION_MNIST_MEAN], std: [FASHION_MNIST_STD] };
  const evalPad = Math.ceil((resolution - side) / 2);
  return {
    train: {
      kind: "pad-crop-flip",
      size: resolution,
      pad: evalPad + resolution / 16,
      hflip: 0.5,
      reprob: 0.25,
      ...norm,
    },
    test: { kind: "center-pad-crop", size: resolution, pad: evalPad, ...norm },
  };
}

function selectSteps(regime: Regime, wanted?: string[]) {
  const all = roadmapSteps(regime);
  if (!wanted) return all;
  const known = new Set(all.map((s) => s.step));
  const unknown = wanted.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new UsageError(
      `--steps: unknown step${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} in regime ${regime} (expected ${[...known].join(", ")})`,
    );
  }
  return all.filter((s) => wanted.includes(s.step));
}

const pct = (v: number) => (100 * v).toFixed(2);
const mmacs = (v: number) => (v / 1e6).toFixed(2);

export function markdownTable(rows: RoadmapTrainRow[], resolution: number): string {
  const header = [
    "#",
    "step",
    "params (run)",
    `MMACs @${resolution}²`,
    "params @224²",
    "GMACs @224²",
    "paper GFLOPs",
    "paper top-1",
    "top-1 (run)",
    "train s",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 2 ? " --- " : " ---: ")).join("|")}|`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.label,
        `${r.step}${r.side_branch ? " (side branch)" : ""}`,
        `${(r.run_params / 1e6).toFixed(3)}M`,
        mmacs(r.run_macs),
        `${(r.params / 1e6).toFixed(2)}M`,
        r.gmacs.toFixed(2),
        r.paper_gflops.toFixed(2),
        r.paper_top1 === null ? "—" : r.paper_top1.toFixed(2),
        r.top1.toFixed(2),
        r.train_seconds.toFixed(0),
      ].join(" | ")} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function chartRows(rows: RoadmapTrainRow[]): ChartRow[] {
  return rows.map((r) => ({
    step: r.step,
    accuracy: r.top1,
    gflops: r.gmacs,
    sideBranch: r.side_branch,
  }));
}

function writeOutputs(
  out: string,
  rows: RoadmapTrainRow[],
  settings: Record<string, unknown>,
  title: string,
  resolution: number,
): void {
  writeAtomic(join(out, "table.json"), `${JSON.stringify(rows, null, 1)}\n`);
  writeAtomic(join(out, "table.md"), markdownTable(rows, resolution));
  writeAtomic(join(out, "settings.json"), `${JSON.stringify(settings, null, 2)}\n`);
  if (rows.length === 0) return;
  const subtitle = `${settings.dataset}, ${resolution}², width ×${settings.width_scale}, depth ×${settings.depth_scale}, ${settings.epochs} epoch(s), seed ${settings.seed}; GFLOPs of the full model at 224²`;
  const chartOptions = {
    title,
    subtitle,
    xLabel: `${settings.dataset} test top-1 accuracy (%)`,
    flopsHeader: "GFLOPs @224²",
  };
  writeAtomic(join(out, "chart.svg"), roadmapChartSvg(chartRows(rows), chartOptions));
  const header = [
    "#",
    "step",
    "change",
    "params (run)",
    `MMACs @${resolution}²`,
    "GMACs @224²",
    "paper top-1",
    "top-1 (run)",
  ];
  const steps = new Map(roadmapSteps(settings.regime as Regime).map((s) => [s.step, s]));
  const html = roadmapChartHtml({
    title,
    intro: [
      `Every step of the paper's ResNet → ConvNeXt roadmap (“A ConvNet for the 2020s”, Liu et al. 2022, Table 10) trained with one recipe and seed on ${settings.dataset}; bars are measured test accuracy, hatched bars the kernel sizes the paper did not adopt.`,
      `Wall time ${((settings.wall_seconds as number) / 60).toFixed(1)} min for ${rows.length} step(s).`,
    ],
    chart: chartRows(rows),
    chartOptions,
    table: {
      header,
      rows: rows.map((r) => [
        r.label,
        `${figureLabel(r.step)} (${r.step})`,
        steps.get(r.step)?.change ?? "",
        `${(r.run_params / 1e6).toFixed(3)}M`,
        mmacs(r.run_macs),
        r.gmacs.toFixed(2),
        r.paper_top1 === null ? "—" : r.paper_top1.toFixed(2),
        r.top1.toFixed(2),
      ]),
    },
    settings,
  });
  writeAtomic(join(out, "chart.html"), html);
}

/** Trains, evaluates and writes the table after every step (a stopped run keeps what it finished). */
export async function trainRoadmap(
  opts: RoadmapTrainOptions,
  log: (line: string) => void = notice,
): Promise<{ rows: RoadmapTrainRow[]; settings: Record<string, unknown> }> {
  if (!(ROADMAP_DATASETS as readonly string[]).includes(opts.dataset)) {
    throw new UsageError(
      `--train: unknown dataset '${opts.dataset}' (expected ${ROADMAP_DATASETS.join(", ")})`,
    );
  }
  if (opts.resolution % 32 !== 0)
    throw new UsageError(
      `--resolution must be a multiple of 32 (the networks downsample 32×), got ${opts.resolution}`,
    );
  if (!(opts.epochs > 0)) throw new UsageError(`--epochs must be positive, got ${opts.epochs}`);
  const steps = selectSteps(opts.regime, opts.steps);
  const out = resolve(opts.out);
  await checkRunFolder("--out", opts.out, opts.data);
  mkdirSync(out, { recursive: true });

  const dir = opts.data ?? (await withFilesDownloadProgress((onProgress) => fashionMnistDir({ onProgress })));
  const train = fashionMnistAt(await loadFashionMnist("train", dir), opts.resolution, opts.limit);
  const test = fashionMnistAt(await loadFashionMnist("test", dir), opts.resolution, opts.limit);
  const tf = transforms(opts.resolution, train.width);
  const numClasses = train.classes.length;
  const trainLoader = new BatchLoader({
    source: fashionMnistSource(train),
    batchSize: opts.batch,
    seed: opts.seed,
    transform: tf.train,
    numClasses,
    labelSmoothing: LABEL_SMOOTHING,
    workers: 1,
  });
  const testLoader = new BatchLoader({
    source: fashionMnistSource(test),
    batchSize: 500,
    seed: 0,
    transform: tf.test,
    numClasses,
    shuffle: false,
    dropLast: false,
    workers: 0,
  });
  const recipe: TrainConfig = {
    epochs: opts.epochs,
    lr: opts.lr,
    minLr: 1e-5,
    // 10% of the run, as the paper's 20 of 300 epochs rounded up for short runs.
    warmupEpochs: opts.epochs / 10,
    weightDecay: 0.05,
    accumulate: 1,
    emaDecay: null,
    layerDecay: null,
    seed: opts.seed,
  };
  const started = Date.now();
  const settings: Record<string, unknown> = {
    dataset: opts.dataset,
    regime: opts.regime,
    steps: steps.map((s) => s.step),
    epochs: opts.epochs,
    resolution: opts.resolution,
    width_scale: opts.widthScale,
    depth_scale: opts.depthScale,
    batch: opts.batch,
    seed: opts.seed,
    threads: opts.threads ?? null,
    limit: opts.limit ?? null,
    train_images: train.n,
    test_images: test.n,
    batches_per_epoch: trainLoader.batchesPerEpoch(),
    recipe: {
      ...recipe,
      optimizer: "AdamW (β 0.9, 0.999; eps 1e-8)",
      schedule: "linear warmup + cosine, per step",
    },
    label_smoothing: LABEL_SMOOTHING,
    train_transform: tf.train,
    test_transform: tf.test,
    init: {
      scheme: opts.init ?? "trunc-normal",
      rule:
        (opts.init ?? "trunc-normal") === "kaiming"
          ? "conv weights normal std √(2/fan_out), linear trunc-normal std 0.02"
          : "conv and linear weights trunc-normal std 0.02",
      rest: "biases 0, norm weights 1, BN running mean 0 / var 1, layer scale per config",
    },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version },
    started: new Date(started).toISOString(),
    wall_seconds: 0,
  };
  const title = `ResNet → ConvNeXt roadmap on ${opts.dataset}`;
  log(`roadmap --train ${JSON.stringify(settings)}`);
  const session = (b: Uint8Array) => createSession(b, { threads: opts.threads, spinning: false });
  const logFile = join(out, "log.jsonl");
  writeAtomic(logFile, "");
  const lines: string[] = [];
  const rows: RoadmapTrainRow[] = [];
  try {
    for (const [i, step] of steps.entries()) {
      const cfg = scaleRoadmapConfig(step.config, {
        widthScale: opts.widthScale,
        depthScale: opts.depthScale,
        inChans: 1,
        numClasses,
      });
      const rng = new Rng(opts.seed);
      const t0 = performance.now();
      const trainer = await Trainer.create(
        roadmapTrainable(cfg),
        initRoadmapParams(cfg, () => rng.normal(), "roadmap", opts.init ?? "trunc-normal"),
        [opts.batch, 1, opts.resolution, opts.resolution],
        trainLoader.batchesPerEpoch(),
        recipe,
        nodeStepEngine({ threads: opts.threads }),
      );
      let lastLoss = Number.NaN;
      let lastAcc = Number.NaN;
      const recent: number[] = [];
      const recentAcc: number[] = [];
      try {
        await trainer.run(trainLoader.batches({ epoch: 0, batch: 0 }, Math.ceil(opts.epochs)), {
          onStep: (s) => {
            recent.push(s.loss);
            recentAcc.push(s.accuracy);
            if (recent.length > LOG_EVERY) recent.shift();
            if (recentAcc.length > LOG_EVERY) recentAcc.shift();
            lastLoss = recent.reduce((a, b) => a + b, 0) / recent.length;
            lastAcc = recentAcc.reduce((a, b) => a + b, 0) / recentAcc.length;
            if (s.step % LOG_EVERY === 0 || s.step === trainer.totalSteps) {
              const line = {
                step: step.step,
                opt_step: s.step,
                lr: Number(s.lr.toExponential(3)),
                loss: Number(lastLoss.toFixed(4)),
                train_top1: Number(pct(lastAcc)),
                seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
              };
              lines.push(JSON.stringify(line));
              writeAtomic(logFile, `${lines.join("\n")}\n`);
            }
          },
        });
      } finally {
        await trainer.release();
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const evaluator = await roadmapEvaluator(cfg, [opts.resolution, opts.resolution], session);
      const r = await evaluator
        .evaluate(trainer.params, testLoader.batches({ epoch: 0, batch: 0 }, 1))
        .finally(() => evaluator.release());
      const paper = countRoadmap(step.config, 224);
      const run = countRoadmap(cfg, opts.resolution);
      rows.push({
        step: step.step,
        params: paper.params,
        macs: paper.macs,
        gmacs: Number((paper.macs / 1e9).toFixed(4)),
        paper_gflops: step.paperGflops,
        paper_top1: step.paperTop1,
        label: step.label,
        side_branch: step.sideBranch,
        run_params: run.params,
        run_macs: run.macs,
        run_depths: cfg.depths,
        run_widths: cfg.widths,
        top1: Number(pct(r.top1)),
        top5: Number(pct(r.top5)),
        test_loss: Number(r.loss.toFixed(4)),
        final_train_loss: Number(lastLoss.toFixed(4)),
        final_train_top1: Number(pct(lastAcc)),
        train_seconds: Number(trainSeconds.toFixed(1)),
        eval_seconds: Number(((performance.now() - t1) / 1000).toFixed(1)),
      });
      settings.wall_seconds = Number(((Date.now() - started) / 1000).toFixed(1));
      writeOutputs(out, rows, settings, title, opts.resolution);
      log(
        `[${i + 1}/${steps.length}] ${step.step}: top-1 ${pct(r.top1)}% (train loss ${lastLoss.toFixed(3)}, ${trainSeconds.toFixed(0)} s)`,
      );
    }
  } finally {
    await trainLoader.close();
    await testLoader.close();
  }
  settings.finished = new Date().toISOString();
  settings.wall_seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  writeOutputs(out, rows, settings, title, opts.resolution);
  return { rows, settings };
}
