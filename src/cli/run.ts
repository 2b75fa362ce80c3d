/** `convnext run`: a forward pass on a tensor file, writing logits, stem, stage0..3 and pre_logits. */
import type { Command } from "commander";
import { FEATURE_OUTPUTS } from "../models/convnext.ts";
import { type Precision, parsePrecision } from "../graph/precision.ts";
import { ConvNeXtModel } from "../node/model.ts";
import { toFloat32 } from "../tensor/host-tensor.ts";
import { positiveInt } from "./options.ts";
import { printJson } from "./output.ts";
import { readTensorFile, requireTensor, writeTensorFile } from "./tensor-files.ts";

export function register(program: Command): void {
  program
    .command("run")
    .description("run a model on tensor `x` (N,C,H,W) of a safetensors file, as `preprocess` writes it")
    .requiredOption("--weights <file|dir>", "checkpoint: .safetensors, .pth or an HF folder (any convention)")
    .option("--model <name>", "architecture (inferred from the weights when omitted)")
    .requiredOption("--input <x.safetensors>", "input file holding tensor x")
    .requiredOption("--output <out.safetensors>", "output file")
    .option("--threads <n>", "onnxruntime threads (default: all cores)", positiveInt("--threads"))
    .option("--precision <p>", "fp32, or int8 (dynamically quantized linear layers)", parsePrecision, "fp32")
    .option("--json", "print a summary line: {output, batch, outputs: {name: shape}}")
    .action(
      async (opts: {
        weights: string;
        model?: string;
        input: string;
        output: string;
        threads?: number;
        precision: Precision;
        json?: boolean;
      }) => {
        const model = await ConvNeXtModel.load(opts.weights, {
          model: opts.model,
          threads: opts.threads,
          precision: opts.precision,
        });
        const x = toFloat32(requireTensor(await readTensorFile(opts.input), "x", opts.input));
        const outputs = FEATURE_OUTPUTS.filter((n) => n !== "logits" || model.config.numClasses > 0);
        const result = await model.forward(x, outputs);
        await writeTensorFile(opts.output, new Map(outputs.map((n) => [n, result[n]])));
        await model.release();
        if (opts.json) {
          const shapes = Object.fromEntries(outputs.map((n) => [n, result[n].dims]));
          printJson({ output: opts.output, batch: x.dims[0], outputs: shapes });
        }
      },
    );
}
