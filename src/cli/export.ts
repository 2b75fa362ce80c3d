/**
 * `convnext export <model>`: the inference graph with its weights as one ONNX file, for any ONNX engine, or
 * (`--format transformers.js`) as the model folder transformers.js loads.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { openExportSource } from "../api/export-source-node.ts";
import { exportOnnx } from "../api/onnx-export-node.ts";
import {
  transformersJsConfig,
  transformersJsModelFile,
  transformersJsPreprocessor,
} from "../api/transformers-js.ts";
import { writeFileAtomic } from "../checkpoint/load-node.ts";
import { isPrecision, type Precision, PRECISIONS } from "../graph/precision.ts";
import { type FeatureName, FEATURE_OUTPUTS } from "../models/convnext.ts";
import { UsageError } from "./errors.ts";
import { type CommandInput, checkOutput, checkOutputFolder, refuseInputAsOutput } from "./output-guard.ts";
import { featureListOption } from "./options.ts";
import { printJson } from "./output.ts";

const FORMATS = ["onnx", "transformers.js"] as const;
const TRANSFORMERS_JS_FILES = (precision: Precision) => [
  "config.json",
  "preprocessor_config.json",
  transformersJsModelFile(precision),
];

interface ExportOptions {
  weights?: string;
  precision: string;
  format: string;
  outputs: FeatureName[];
  output: string;
  useEma?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("export <model>")
    .summary("write a model (name or checkpoint) as ONNX with its weights")
    .description(
      "write the model as ONNX (opset 18) with its weights, architecture, labels and preprocessing, " +
        "or as a transformers.js model folder",
    )
    .option("--weights <file|dir>", "checkpoint to bake in (default: random init, seed 0)")
    .option("--precision <p>", `weight precision (${PRECISIONS.join(", ")})`, "fp32")
    .option("--format <f>", `${FORMATS.join(" or ")} (a folder: config.json, onnx/model.onnx, ...)`, "onnx")
    .addOption(
      new Option("--outputs <names>", `comma-separated graph outputs from ${FEATURE_OUTPUTS.join(",")}`)
        .argParser(featureListOption("--outputs"))
        .default(["logits"], "logits"),
    )
    .requiredOption("--output <model.onnx|dir>", "output file (a folder for transformers.js)")
    .option("--use-ema", "bake in the EMA weights of a training checkpoint")
    .option("--json", "print a summary line: {output, format, precision, outputs, bytes (of the .onnx)}")
    .action(async (name: string, opts: ExportOptions) => {
      const precision = opts.precision;
      if (!isPrecision(precision))
        throw new UsageError(`--precision ${precision} is not supported (${PRECISIONS.join(", ")})`);
      if (!(FORMATS as readonly string[]).includes(opts.format))
        throw new UsageError(`--format ${opts.format} is not supported (${FORMATS.join(", ")})`);
      const inputs: CommandInput[] = [
        { flag: "model", path: existsSync(name) ? name : undefined, folder: true },
        { flag: "--weights", path: opts.weights, folder: true },
      ];
      if (opts.format === "onnx")
        await checkOutput(
          { flag: "--output", path: opts.output, extensions: [".onnx"], writes: "ONNX" },
          inputs,
        );
      else {
        await checkOutputFolder({
          flag: "--output",
          path: opts.output,
          writes: "a transformers.js model folder",
        });
        for (const file of TRANSFORMERS_JS_FILES(precision))
          await refuseInputAsOutput({ flag: "--output", path: join(opts.output, file) }, inputs);
      }
      const outputs = opts.outputs;
      if (opts.format !== "onnx" && !outputs.includes("logits"))
        throw new UsageError("--format transformers.js needs the 'logits' output (image classification)");
      const source = await openExportSource(name, opts.weights, opts.useEma === true);
      const summary = (onnx: Uint8Array) =>
        opts.json &&
        printJson({ output: opts.output, format: opts.format, precision, outputs, bytes: onnx.length });
      if (opts.format === "onnx") {
        const onnx = exportOnnx(source, { outputs, precision });
        await writeFileAtomic(opts.output, onnx);
        summary(onnx);
        return;
      }
      const processor = transformersJsPreprocessor(source.preprocess, name);
      const size = (processor.size as { shortest_edge: number }).shortest_edge;
      const model = exportOnnx(source, { outputs, precision, inputName: "pixel_values" });
      const json = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;
      const config = transformersJsConfig(source.config, source.labels, size);
      const [configFile, processorFile, modelFile] = TRANSFORMERS_JS_FILES(precision);
      await mkdir(join(opts.output, "onnx"), { recursive: true });
      // The model first and the small files last: a folder with a config.json is a complete one.
      await writeFileAtomic(join(opts.output, modelFile), model);
      await writeFileAtomic(join(opts.output, processorFile), new TextEncoder().encode(json(processor)));
      await writeFileAtomic(join(opts.output, configFile), new TextEncoder().encode(json(config)));
      summary(model);
    });
}
