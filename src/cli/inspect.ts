/** `convnext inspect`: which convention a checkpoint uses, its architecture and tensor count. */
import type { Command } from "commander";
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { printable } from "../checkpoint/printable.ts";
import { weightsKind } from "../checkpoint/train-layout.ts";
import { paramShapes } from "../models/convnext.ts";
import { countParams } from "../models/count.ts";

export function register(program: Command): void {
  program
    .command("inspect <checkpoint>")
    .description("detected convention, architecture and tensor count of a checkpoint")
    .option("--json", "print JSON")
    .option("--use-ema", "inspect the EMA weights of a training checkpoint")
    .action(async (checkpoint: string, opts: { json?: boolean; useEma?: boolean }) => {
      const ckpt = await loadCheckpointFile(checkpoint, { useEma: opts.useEma });
      const c = ckpt.config;
      const report = {
        file: ckpt.source,
        convention: ckpt.convention,
        kind: ckpt.trainCheckpoint ? "training checkpoint" : "weights",
        weights: weightsKind(ckpt.metadata, { useEma: opts.useEma, source: ckpt.source }) ?? null,
        tensors: ckpt.tensors.size,
        params: countParams(paramShapes(c)),
        architecture: {
          version: c.version,
          dims: c.dims,
          depths: c.depths,
          numClasses: c.numClasses,
          kernelSize: c.kernelSize,
          convMlp: c.convMlp,
          layerScale: c.layerScaleInit !== null,
          headNormEps: c.headNormEps,
        },
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const a = report.architecture;
      process.stdout.write(
        `${[
          `file         ${report.file}`,
          `convention   ${report.convention}`,
          `kind         ${report.kind}${report.weights ? ` (${printable(report.weights)} weights)` : ""}`,
          `tensors      ${report.tensors} (${report.params.toLocaleString("en-US")} parameters)`,
          `architecture ConvNeXt V${a.version} dims [${a.dims}] depths [${a.depths}] kernel ${a.kernelSize}` +
            `${a.convMlp ? " conv_mlp" : ""}${a.layerScale ? " layer-scale" : ""}, ${a.numClasses} classes, head eps ${a.headNormEps}`,
        ].join("\n")}\n`,
      );
    });
}
