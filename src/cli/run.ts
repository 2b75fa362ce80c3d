/** `convnext run`: a forward pass on a tensor file, writing logits, stem, stage0..3 and pre_logits. */
import type { Command } from "commander";
import { checkInputDims } from "../models/config.ts";
import { FEATURE_OUTPUTS } from "../models/convnext.ts";
import type { Precision } from "../graph/precision.ts";
import { ConvNeXtModel } from "../node/model.ts";
import { PRECISION_HELP, precisionOption, threadsOption } from "./options.ts";
import { checkOutput } from "./output-guard.ts";
import { readTensorFile, requireFloatTensor, writeTensorFile } from "./tensor-files.ts";

interface Options {
  weights: string;
  model?: string;
  input: string;
  output: string;
  threads?: number;
  useEma?: boolean;
  precision: Precision;
  json?: boolean;
}
import { printJson } from "./output.ts";

export function register(program: Command): void {
  program
    .command("run")
    .description("run a model on tensor `x` (N,C,H,W) of a safetensors file, as `preprocess` writes it")
    .requiredOption("--weights <file|dir>", "checkpoint: .safetensors, .pth or an HF folder (any convention)")
    .option("--model <name>", "architecture (inferred from the weights when omitted)")
    .requiredOption("--input <x.safetensors>", "input file holding tensor x")
    .requiredOption("--output <out.safetensors>", "output file")
    .option("--threads <n>", "onnxruntime threads (default: all cores)", threadsOption)
    .option("--precision <p>", PRECISION_HELP, precisionOption, "fp32")
    .option("--use-ema", "use the EMA weights of a training checkpoint")
    .option("--json", "print a summary line: {output, batch, outputs: {name: shape}}")
    .action(async (opts: Options) => {
      await checkOutput(
        { flag: "--output", path: opts.output, extensions: [".safetensors"], writes: "safetensors" },
        [
          { flag: "--input", path: opts.input },
          { flag: "--weights", path: opts.weights, folder: true },
        ],
      );
      const model = await ConvNeXtModel.load(opts.weights, {
        model: opts.model,
        threads: opts.threads,
        useEma: opts.useEma,
        precision: opts.precision,
      });
      try {
        const x = requireFloatTensor(await readTensorFile(opts.input), "x", opts.input);
        // Checked here, before any session, so a bad shape is named by its file.
        checkInputDims(model.config, x.dims, `${opts.input}: x`);
        const outputs = FEATURE_OUTPUTS.filter((n) => n !== "logits" || model.config.numClasses > 0);
        const result = await model.forward(x, outputs);
        await writeTensorFile(opts.output, new Map(outputs.map((n) => [n, result[n]])));
        if (opts.json) {
          const shapes = Object.fromEntries(outputs.map((n) => [n, result[n].dims]));
          printJson({ output: opts.output, batch: x.dims[0], outputs: shapes });
        }
      } finally {
        await model.release();
      }
    });
}
