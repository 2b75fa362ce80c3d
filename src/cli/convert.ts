/**
 * `convnext convert`: any checkpoint convention → one timm-named model.safetensors (loads into timm strictly).
 * The architecture, class names and preprocessing travel in the metadata (convert-metadata.ts), so the converted
 * file answers exactly as its source does here.
 */
import type { Command } from "commander";
import { loadCheckpointFile, saveSafetensors } from "../checkpoint/load-node.ts";
import { convertedMetadata } from "./convert-metadata.ts";
import { checkOutput } from "./output-guard.ts";
import { notice, printJson } from "./output.ts";

export function register(program: Command): void {
  program
    .command("convert <checkpoint>")
    .description("convert a checkpoint (official, timm, torchvision, HF; .pth or safetensors) to timm names")
    .requiredOption("--output <model.safetensors>", "output file")
    .option("--use-ema", "convert the EMA weights of a training checkpoint")
    .option("--json", "print a summary line: {source, convention, tensors, output}")
    .action(async (checkpoint: string, opts: { output: string; useEma?: boolean; json?: boolean }) => {
      await checkOutput(
        { flag: "--output", path: opts.output, extensions: [".safetensors"], writes: "safetensors" },
        [{ flag: "checkpoint", path: checkpoint, folder: true }],
      );
      const ckpt = await loadCheckpointFile(checkpoint, { useEma: opts.useEma });
      const { metadata, notInTimm } = convertedMetadata(ckpt, opts.useEma === true);
      await saveSafetensors(opts.output, ckpt.tensors, metadata);
      const summary = { source: ckpt.source, convention: ckpt.convention, tensors: ckpt.tensors.size };
      if (opts.json) printJson({ ...summary, output: opts.output, notInTimm });
      else notice(`${ckpt.source}: ${ckpt.convention} → timm, ${ckpt.tensors.size} tensors → ${opts.output}`);
      if (notInTimm.length > 0)
        process.stderr.write(
          `warning: ${opts.output}: timm reads only the tensors; its metadata alone keeps ${notInTimm.join(", ")}\n`,
        );
    });
}
