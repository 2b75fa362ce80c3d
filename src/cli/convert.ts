/** `convnext convert`: any checkpoint convention → one timm-named model.safetensors (loads into timm strictly). */
import type { Command } from "commander";
import { loadCheckpointFile, saveSafetensors } from "../checkpoint/load-node.ts";

export function register(program: Command): void {
  program
    .command("convert <checkpoint>")
    .description("convert a checkpoint (official, timm, torchvision, HF; .pth or safetensors) to timm names")
    .requiredOption("--output <model.safetensors>", "output file")
    .action(async (checkpoint: string, opts: { output: string }) => {
      const ckpt = await loadCheckpointFile(checkpoint);
      await saveSafetensors(opts.output, ckpt.tensors, { format: "pt" });
      process.stderr.write(
        `${ckpt.source}: ${ckpt.convention} → timm, ${ckpt.tensors.size} tensors → ${opts.output}\n`,
      );
    });
}
