/** The `convnext` command line: one file per subcommand, each exporting `register(program)`. */
import { Command } from "commander";
import * as classify from "./classify.ts";
import * as convert from "./convert.ts";
import * as embed from "./embed.ts";
import { errorLine, exitCodeOf } from "./errors.ts";
import * as evalCmd from "./eval.ts";
import * as exportCmd from "./export.ts";
import * as info from "./info.ts";
import * as inspect from "./inspect.ts";
import * as list from "./list.ts";
import { setQuiet } from "./output.ts";
import * as preprocess from "./preprocess.ts";
import * as roadmap from "./roadmap.ts";
import * as run from "./run.ts";
import * as train from "./train.ts";
import * as trainStep from "./train-step.ts";
import { packageVersion } from "./version.ts";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("convnext")
    .description("ConvNeXt V1/V2 image models: inference, training and the paper's roadmap, on onnxruntime")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("-q, --quiet", "no progress bars or notices on stderr (also CONVNEXT_QUIET=1)")
    // Errors come back here as exceptions, to be printed with one prefix and exit code 2.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .configureHelp({ showGlobalOptions: true })
    .hook("preAction", (_, action) => setQuiet(action.optsWithGlobals().quiet === true));
  for (const cmd of [
    info,
    list,
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
    // One line naming the file and the problem; the stack is for CONVNEXT_DEBUG=1.
    const line = errorLine(e);
    if (line !== undefined) process.stderr.write(`convnext: ${line}\n`);
    if (process.env.CONVNEXT_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = exitCodeOf(e);
  }
}
