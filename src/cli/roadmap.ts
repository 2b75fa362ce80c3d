/**
 * `convnext roadmap`: the paper's ResNet → ConvNeXt steps with counted parameters and multiply-adds beside
 * the printed GFLOPs and top-1, and (human table) measured inference throughput on this machine.
 * `--train <dataset>` trains the steps instead and writes the measured table and chart (roadmap-train.ts).
 */
import { InvalidArgumentError, type Command } from "commander";
import { toOnnxBytes } from "../graph/onnx.ts";
import {
  buildRoadmap,
  REGIMES,
  type Regime,
  type RoadmapConfig,
  type RoadmapRow,
  roadmapParamShapes,
  roadmapTable,
} from "../models/roadmap.ts";
import type { RoadmapInit } from "../models/roadmap-init.ts";
import { createSession } from "../runtime/session-node.ts";
import { float32, type HostTensor, numel } from "../tensor/host-tensor.ts";
import { nonNegativeNumber, positiveInt, threadsOption } from "./options.ts";
import { isQuiet } from "./output.ts";
import { markdownTable, ROADMAP_DATASETS, trainRoadmap } from "./roadmap-train.ts";

export interface RoadmapJsonRow {
  step: string;
  params: number;
  macs: number;
  gmacs: number;
  paper_gflops: number;
  paper_top1: number | null;
  throughput_img_s?: number;
}

/**
 * Throughput does not depend on the weights' values, only on avoiding denormals: fan-in scaled uniform
 * weights keep activations O(1); norms start as identities.
 */
function benchWeights(cfg: RoadmapConfig): Map<string, HostTensor> {
  const { params, buffers } = roadmapParamShapes(cfg);
  let seed = 12345;
  const uniform = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const out = new Map<string, HostTensor>();
  for (const [name, dims] of [...params, ...buffers]) {
    const t = float32(dims);
    if (name.endsWith("running_var") || (dims.length === 1 && name.endsWith(".weight"))) t.data.fill(1);
    else if (name.endsWith(".gamma")) t.data.fill(cfg.layerScale ?? 1);
    else if (dims.length > 1) {
      const scale = 2 * Math.sqrt(3 / numel(dims.slice(1)));
      for (let i = 0; i < t.data.length; i++) t.data[i] = scale * uniform();
    }
    out.set(name, t);
  }
  return out;
}

/**
 * Images per second of an inference session at one batch size: one warm-up run, then the median of at
 * least 5 runs (and 2 s), since a shared machine's stragglers would skew a mean.
 */
async function throughput(cfg: RoadmapConfig, batch: number, threads?: number): Promise<number> {
  const dims = [batch, cfg.inChans, 224, 224];
  const { graph } = buildRoadmap(cfg, { weights: benchWeights(cfg), inputShape: dims });
  const session = await createSession(toOnnxBytes(graph), { threads });
  const x = float32(
    dims,
    Float32Array.from({ length: numel(dims) }, (_, i) => Math.sin(i)),
  );
  await session.run({ x });
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < 2000) {
    const t0 = performance.now();
    await session.run({ x });
    times.push(performance.now() - t0);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return (batch * 1000) / times[Math.floor(times.length / 2)];
}

function toJson(r: RoadmapRow, imgPerSec?: number): RoadmapJsonRow {
  const row: RoadmapJsonRow = {
    step: r.step,
    params: r.params,
    macs: r.macs,
    gmacs: Number((r.macs / 1e9).toFixed(4)),
    paper_gflops: r.paperGflops,
    paper_top1: r.paperTop1,
  };
  if (imgPerSec !== undefined) row.throughput_img_s = Number(imgPerSec.toFixed(1));
  return row;
}

function table(rows: RoadmapRow[], speeds: (number | undefined)[], batch: number): string {
  const header = ["#", "step", "params", "GMACs", "paper GFLOPs", "paper top-1", `img/s @${batch}`, "change"];
  const body = rows.map((r, i) => [
    r.label,
    r.step,
    `${(r.params / 1e6).toFixed(2)}M`,
    (r.macs / 1e9).toFixed(4),
    r.paperGflops.toFixed(2),
    r.paperTop1 === null ? "—" : r.paperTop1.toFixed(2),
    speeds[i] === undefined ? "—" : speeds[i]!.toFixed(1),
    r.change,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (row: string[]) =>
    row
      .map((cell, c) =>
        c === row.length - 1 ? cell : numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]),
      )
      .join("  ");
  return [line(header), ...body.map(line)].join("\n");
}

function regime(v: string): Regime {
  if (!(REGIMES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`--regime must be one of ${REGIMES.join(", ")}, got '${v}'`);
  }
  return v as Regime;
}

function positiveNumber(flag: string) {
  const parse = nonNegativeNumber(flag);
  return (v: string): number => {
    const n = parse(v);
    if (n === 0) throw new InvalidArgumentError(`${flag} must be a number > 0, got '${v}'`);
    return n;
  };
}

function stepList(v: string): string[] {
  const steps = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (steps.length === 0)
    throw new InvalidArgumentError(`--steps needs step names separated by commas, got '${v}'`);
  return steps;
}

interface RoadmapOptions {
  regime: Regime;
  json?: boolean;
  bench?: boolean;
  batch?: number;
  threads?: number;
  train?: string;
  data?: string;
  steps?: string[];
  epochs: number;
  resolution: number;
  widthScale: number;
  depthScale: number;
  seed: number;
  lr: number;
  init: RoadmapInit;
  limit?: number;
  out: string;
}

async function train(opts: RoadmapOptions): Promise<void> {
  const { rows, settings } = await trainRoadmap({
    dataset: opts.train!,
    data: opts.data,
    regime: opts.regime,
    steps: opts.steps,
    epochs: opts.epochs,
    resolution: opts.resolution,
    widthScale: opts.widthScale,
    depthScale: opts.depthScale,
    batch: opts.batch ?? 128,
    seed: opts.seed,
    lr: opts.lr,
    init: opts.init,
    threads: opts.threads,
    limit: opts.limit,
    out: opts.out,
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ settings, rows }, null, 1)}\n`);
    return;
  }
  const used = [
    `dataset ${settings.dataset}`,
    `resolution ${settings.resolution}`,
    `width ×${settings.width_scale}`,
    `depth ×${settings.depth_scale}`,
    `epochs ${settings.epochs}`,
    `batch ${settings.batch}`,
    `lr ${opts.lr}`,
    `seed ${settings.seed}`,
    `${settings.train_images} train / ${settings.test_images} test images`,
    `wall ${((settings.wall_seconds as number) / 60).toFixed(1)} min`,
  ];
  process.stdout.write(
    `${used.join(", ")}\n\n${markdownTable(rows, opts.resolution)}\nwritten to ${opts.out}\n`,
  );
}

export function register(program: Command): void {
  program
    .command("roadmap")
    .description(
      "the paper's ResNet → ConvNeXt steps: parameters, multiply-adds, paper numbers, throughput; --train measures accuracy",
    )
    .option(
      "--regime <r50|r200>",
      "Table 10 (ResNet-50 → ConvNeXt-T) or Table 11 (ResNet-200 → ConvNeXt-B)",
      regime,
      "r50",
    )
    .option("--json", "print JSON (no throughput unless --bench)")
    .option("--bench", "measure inference throughput (default for the table)")
    .option("--no-bench", "skip the throughput measurement")
    .option("--batch <n>", "batch size (throughput: default 8; --train: default 128)", positiveInt("--batch"))
    .option("--threads <n>", "onnxruntime threads (default: all cores)", threadsOption)
    .option(
      "--train <dataset>",
      `train every step with one recipe and seed and write table + chart (${ROADMAP_DATASETS.join(", ")})`,
    )
    .option(
      "--data <dir>",
      "--train: directory of the data set's files (default: its package's location, else downloaded once)",
    )
    .option("--steps <a,b,…>", "--train: only these steps (keys as in --json)", stepList)
    .option("--epochs <n>", "--train: epochs per step (may be fractional)", positiveNumber("--epochs"), 1)
    .option("--resolution <n>", "--train: input side, a multiple of 32", positiveInt("--resolution"), 32)
    .option("--width-scale <x>", "--train: multiplies every width", positiveNumber("--width-scale"), 0.25)
    .option("--depth-scale <x>", "--train: multiplies every stage depth", positiveNumber("--depth-scale"), 1)
    .option("--lr <x>", "--train: peak learning rate (AdamW, batch --batch)", positiveNumber("--lr"), 2e-3)
    .option(
      "--init <scheme>",
      "--train: trunc-normal (ConvNeXt's) or kaiming (torchvision's)",
      initScheme,
      "trunc-normal",
    )
    .option("--seed <n>", "--train: seed of init, data order and augmentation", positiveIntOrZero, 0)
    .option("--limit <n>", "--train: use the first N training and N test images", positiveInt("--limit"))
    .option("--out <dir>", "--train: output directory", "roadmap-run")
    .action(async (opts: RoadmapOptions) => {
      if (opts.train) return train(opts);
      const batch = opts.batch ?? 8;
      const rows = roadmapTable(opts.regime);
      const measure = opts.bench ?? !opts.json;
      const speeds: (number | undefined)[] = [];
      for (const r of rows) {
        if (measure && !opts.json && !isQuiet()) process.stderr.write(`measuring ${r.step}…\r`);
        speeds.push(measure ? await throughput(r.config, batch, opts.threads) : undefined);
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            rows.map((r, i) => toJson(r, speeds[i])),
            null,
            1,
          )}\n`,
        );
        return;
      }
      process.stdout.write(`${table(rows, speeds, batch)}\n`);
    });
}

function initScheme(v: string): RoadmapInit {
  if (v !== "trunc-normal" && v !== "kaiming")
    throw new InvalidArgumentError(`--init must be trunc-normal or kaiming, got '${v}'`);
  return v;
}

function positiveIntOrZero(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`--seed must be an integer ≥ 0, got '${v}'`);
  return n;
}
