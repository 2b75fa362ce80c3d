/** `convnext info <model>`: parameters, multiply-adds (conv + linear, the paper's convention), stage shapes. */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { type ConvNeXtConfig, totalStride } from "../models/config.ts";
import { buildConvNeXt, paramShapes } from "../models/convnext.ts";
import { countMacs, countParams } from "../models/count.ts";
import { modelConfig } from "../models/variants.ts";
import { resolvePretrained } from "../pretrained/registry.ts";
import { nonNegativeInt, positiveInt } from "./options.ts";

export interface ModelInfo {
  model: string;
  resolution: number;
  params: number;
  macs: number;
  gmacs: number;
  stages: { name: string; shape: number[]; stride: number }[];
}

export function modelInfo(name: string, cfg: ConvNeXtConfig, resolution: number): ModelInfo {
  if (resolution < totalStride(cfg))
    throw new Error(`resolution ${resolution} is smaller than the model's total stride ${totalStride(cfg)}`);
  const names = ["stem", "stage0", "stage1", "stage2", "stage3"] as const;
  const g = buildConvNeXt(cfg, {
    inputShape: [1, cfg.inChans, resolution, resolution],
    outputs: [...names],
  }).graph;
  const macs = countMacs(g);
  return {
    model: name,
    resolution,
    params: countParams(paramShapes(cfg)),
    macs,
    gmacs: Number((macs / 1e9).toFixed(4)),
    stages: names.slice(1).map((n, i) => ({ name: n, shape: g.shape(n), stride: cfg.patchSize * 2 ** i })),
  };
}

async function resolveConfig(model: string, numClasses?: number): Promise<ConvNeXtConfig> {
  if (existsSync(model)) {
    const cfg = (await loadCheckpointFile(model)).config;
    return numClasses === undefined ? cfg : { ...cfg, numClasses };
  }
  // `arch.tag` names pretrained weights: their head size (e.g. 21841 for in22k) comes with them.
  const classes = numClasses ?? (model.includes(".") ? resolvePretrained(model).numClasses : undefined);
  return modelConfig(model, classes === undefined ? {} : { numClasses: classes });
}

export function register(program: Command): void {
  program
    .command("info <model>")
    .description("parameter count, multiply-adds and stage shapes of a model (name or checkpoint)")
    .option("--resolution <n>", "input resolution", positiveInt("--resolution"), 224)
    .option(
      "--num-classes <n>",
      "classifier size; 0: no classifier (default 1000, or the pretrained weights' or checkpoint's)",
      nonNegativeInt("--num-classes"),
    )
    .option("--json", "print JSON")
    .action(async (model: string, opts: { resolution: number; numClasses?: number; json?: boolean }) => {
      const info = modelInfo(model, await resolveConfig(model, opts.numClasses), opts.resolution);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const lines = [
        `${info.model} at ${info.resolution}x${info.resolution}`,
        `parameters  ${info.params.toLocaleString("en-US")}`,
        `MACs        ${info.macs.toLocaleString("en-US")} (${info.gmacs} G; conv + linear, the paper's "FLOPs")`,
        ...info.stages.map((s) => `${s.name.padEnd(11)} ${s.shape.slice(1).join("x")} (stride ${s.stride})`),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
