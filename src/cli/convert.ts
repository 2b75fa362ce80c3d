/** `convnext convert`: any checkpoint convention → one timm-named model.safetensors (loads into timm strictly). */
import type { Command } from "commander";
import { loadCheckpointFile, saveSafetensors } from "../checkpoint/load-node.ts";
import { notice, printJson } from "./output.ts";

export function register(program: Command): void {
  program
    .command("convert <checkpoint>")
    .description("convert a checkpoint (official, timm, torchvision, HF; .pth or safetensors) to timm names")
    .requiredOption("--output <model.safetensors>", "output file")
    .option("--json", "print a summary line: {source, convention, tensors, output}")
    .action(async (checkpoint: string, opts: { output: string; json?: boolean }) => {
      const ckpt = await loadCheckpointFile(checkpoint);
      await saveSafetensors(opts.output, ckpt.tensors, { format: "pt" });
      const summary = { source: ckpt.source, convention: ckpt.convention, tensors: ckpt.tensors.size };
      if (opts.json) printJson({ ...summary, output: opts.output });
      else notice(`${ckpt.source}: ${ckpt.convention} → timm, ${ckpt.tensors.size} tensors → ${opts.output}`);
    });
}
