/**
 * `convnext roadmap`: the paper's ResNet → ConvNeXt steps with counted parameters and multiply-adds beside
 * the printed GFLOPs and top-1, and (human table) measured inference throughput on this machine.
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
import { createSession } from "../runtime/session-node.ts";
import { float32, type HostTensor, numel } from "../tensor/host-tensor.ts";
import { positiveInt } from "./options.ts";

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

export function register(program: Command): void {
  program
    .command("roadmap")
    .description("the paper's ResNet → ConvNeXt steps: parameters, multiply-adds, paper numbers, throughput")
    .option(
      "--regime <r50|r200>",
      "Table 10 (ResNet-50 → ConvNeXt-T) or Table 11 (ResNet-200 → ConvNeXt-B)",
      regime,
      "r50",
    )
    .option("--json", "print JSON (no throughput unless --bench)")
    .option("--bench", "measure inference throughput (default for the table)")
    .option("--no-bench", "skip the throughput measurement")
    .option("--batch <n>", "batch size for the throughput measurement", positiveInt("--batch"), 8)
    .option("--threads <n>", "onnxruntime threads (default: all cores)", positiveInt("--threads"))
    .action(
      async (opts: { regime: Regime; json?: boolean; bench?: boolean; batch: number; threads?: number }) => {
        const rows = roadmapTable(opts.regime);
        const measure = opts.bench ?? !opts.json;
        const speeds: (number | undefined)[] = [];
        for (const r of rows) {
          if (measure && !opts.json) process.stderr.write(`measuring ${r.step}…\r`);
          speeds.push(measure ? await throughput(r.config, opts.batch, opts.threads) : undefined);
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
        process.stdout.write(`${table(rows, speeds, opts.batch)}\n`);
      },
    );
}
