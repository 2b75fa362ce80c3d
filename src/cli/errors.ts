/**
 * How the command line ends on an error: one line on stderr, `convnext: <file>: <problem>`, and an exit code
 * that tells a script which kind of mistake it was — 2 for a usage error (unknown command or option, missing
 * or bad argument; commander's and the shells' convention), 1 for anything that went wrong while running.
 *
 * File convention: an error about one file carries it either at the start of its message (`<file>: …`, as most
 * of this package's errors do) or in a `file` property (see `withFile`); the handler then names it exactly once.
 */
import { CommanderError } from "commander";

export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A bad command line found after parsing (an option value only the action can judge): exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Runs `fn`, tagging an error it throws with `file` unless the error already names one. */
export async function withFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error && typeof (e as { file?: unknown }).file !== "string") Object.assign(e, { file });
    throw e;
  }
}

/** Commander errors that are not failures: --help, --version. */
function isCleanExit(e: unknown): boolean {
  return e instanceof CommanderError && e.exitCode === 0;
}

/** 0 for --help/--version, 2 for usage errors, 1 for the rest. */
export function exitCodeOf(e: unknown): number {
  if (isCleanExit(e)) return 0;
  return e instanceof CommanderError || e instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
}

/** The message of a JavaScript engine limit, said as what it means for the input. */
function engineLimit(message: string): string | undefined {
  if (/maximum call stack size exceeded/i.test(message)) return `nested too deeply to read (${message})`;
  if (
    /invalid (typed )?array (buffer )?length|array buffer allocation failed|invalid string length/i.test(
      message,
    )
  )
    return `too large to hold in memory (${message})`;
  return undefined;
}

/**
 * The one line (without the `convnext: ` prefix) that says what went wrong, or undefined when there is nothing
 * to print (commander already showed help or the version).
 */
export function errorLine(e: unknown): string | undefined {
  if (e instanceof CommanderError) {
    if (e.code === "commander.help" || isCleanExit(e)) return undefined;
    // "error: option '--top <k>' argument 'x' is invalid. --top must be …": our parsers name the flag already.
    // Its "(Did you mean …?)" comes on a line of its own.
    return e.message
      .replace(/^error: /, "")
      .replace(/^option '[^']*' argument '[^']*' is invalid\. (?=--)/, "")
      .replace(/\s*\n\s*/g, " ");
  }
  if (!(e instanceof Error)) return oneLine(String(e));
  const file = (e as { file?: unknown }).file;
  const limit = e instanceof RangeError || e.name === "RangeError" ? engineLimit(e.message) : undefined;
  const message = limit ?? e.message;
  if (typeof file !== "string" || message.startsWith(`${file}:`) || message.startsWith(`${file} `))
    return oneLine(message);
  return oneLine(`${file}: ${message}`);
}

/** Control characters (a newline in a file name, say) escaped, so that the error stays one line. */
function oneLine(message: string): string {
  let out = "";
  for (const c of message) {
    const code = c.charCodeAt(0);
    if (code >= 0x20 && code !== 0x7f) out += c;
    else out += c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${code.toString(16).padStart(2, "0")}`;
  }
  return out;
}
