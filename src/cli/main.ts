/** The `convnext` command line: one file per subcommand, each exporting `register(program)`. */
import { Command } from "commander";
import * as classify from "./classify.ts";
import * as convert from "./convert.ts";
import * as embed from "./embed.ts";
import * as evalCmd from "./eval.ts";
import * as exportCmd from "./export.ts";
import * as info from "./info.ts";
import * as inspect from "./inspect.ts";
import * as preprocess from "./preprocess.ts";
import * as roadmap from "./roadmap.ts";
import * as run from "./run.ts";
import * as train from "./train.ts";
import * as trainStep from "./train-step.ts";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("convnext").description(
    "ConvNeXt V1/V2 image models: inference, training and the paper's roadmap, on onnxruntime",
  );
  for (const cmd of [
    info,
    run,
    convert,
    exportCmd,
    inspect,
    trainStep,
    roadmap,
    classify,
    embed,
    preprocess,
    train,
    evalCmd,
  ])
    cmd.register(program);
  // `convnext classify dir | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    // One line, naming the problem; the stack is for CONVNEXT_DEBUG=1.
    const err = e as Error;
    process.stderr.write(`convnext: ${process.env.CONVNEXT_DEBUG ? err.stack : err.message}\n`);
    process.exitCode = 1;
  }
}
