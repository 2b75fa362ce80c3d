/** `convnext export <model>`: the inference graph with its weights as one ONNX file, for any ONNX engine. */
import { existsSync } from "node:fs";
import { writeFileAtomic } from "../checkpoint/load-node.ts";
import type { Command } from "commander";
import { type FeatureName, FEATURE_OUTPUTS } from "../models/convnext.ts";
import { initParams } from "../models/init.ts";
import { modelConfig } from "../models/variants.ts";
import { ConvNeXtModel } from "../node/model.ts";
import { Rng } from "../train/rng.ts";
import { checkOutput } from "./output-guard.ts";

export function register(program: Command): void {
  program
    .command("export <model>")
    .summary("write a model (name or checkpoint) as ONNX with its weights")
    .description("write the model as ONNX (opset 18) with its weights")
    .option("--weights <file|dir>", "checkpoint to bake in (default: random init, seed 0)")
    .option("--precision <p>", "weight precision (fp32)", "fp32")
    .option("--outputs <names>", `comma-separated graph outputs from ${FEATURE_OUTPUTS.join(",")}`, "logits")
    .requiredOption("--output <model.onnx>", "output file")
    .option("--use-ema", "bake in the EMA weights of a training checkpoint")
    .action(
      async (
        name: string,
        opts: { weights?: string; precision: string; outputs: string; output: string; useEma?: boolean },
      ) => {
        await checkOutput({ flag: "--output", path: opts.output, extensions: [".onnx"], writes: "ONNX" }, [
          { flag: "model", path: existsSync(name) ? name : undefined, folder: true },
          { flag: "--weights", path: opts.weights, folder: true },
        ]);
        if (opts.precision !== "fp32")
          throw new Error(`--precision ${opts.precision} is not supported (fp32)`);
        const outputs = opts.outputs.split(",").map((s) => s.trim()) as FeatureName[];
        const bad = outputs.filter((o) => !FEATURE_OUTPUTS.includes(o));
        if (bad.length)
          throw new Error(`unknown output ${bad.join(", ")}; choose from ${FEATURE_OUTPUTS.join(", ")}`);
        let model: ConvNeXtModel;
        if (existsSync(name)) {
          model = await ConvNeXtModel.load(name, { useEma: opts.useEma });
        } else if (opts.weights) {
          model = await ConvNeXtModel.load(opts.weights, { model: name, useEma: opts.useEma });
        } else {
          if (opts.useEma) throw new Error("--use-ema needs --weights (a training checkpoint)");
          const cfg = modelConfig(name);
          const rng = new Rng(0);
          model = new ConvNeXtModel(
            cfg,
            initParams(cfg, () => rng.normal()),
          );
        }
        await writeFileAtomic(opts.output, model.toOnnx(outputs));
      },
    );
}
