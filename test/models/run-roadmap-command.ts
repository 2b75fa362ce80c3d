// Runs `convnext roadmap …` in this process and returns what it printed. Only the command's text output is
// captured: the test runner reports through the same stream in binary.
import { Command } from "commander";
import { register } from "../../src/cli/roadmap.ts";

export async function runRoadmapCommand(args: string[]): Promise<string> {
  const program = new Command("convnext").exitOverride();
  program.configureOutput({ writeErr: () => {} });
  register(program);
  let out = "";
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  // Only the command's text is captured: the test runner reports through the same stream in binary.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== "string") return write.call(process.stdout, chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return out;
}
