/**
 * Where the command line writes: results on stdout (with `--json`, one JSON object per line), progress bars and
 * notices on stderr. `--quiet` or `CONVNEXT_QUIET=1` silences progress and notices, never results or errors.
 */

const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);

let quietOption = false;

/** Set from the parsed `--quiet` before a command runs. */
export function setQuiet(on: boolean): void {
  quietOption = on;
}

export function isQuiet(env: Record<string, string | undefined> = process.env): boolean {
  return quietOption || TRUE_VALUES.has((env.CONVNEXT_QUIET ?? "").trim().toLowerCase());
}

/** Whether to draw progress bars: stderr is a terminal and nobody asked for quiet. */
export function showProgress(): boolean {
  return process.stderr.isTTY === true && !isQuiet();
}

/** A line for the person at the terminal (a licence, what is being fetched, a hint): stderr, unless quiet. */
export function notice(line: string): void {
  if (!isQuiet()) process.stderr.write(`${line}\n`);
}

/** A command's summary as one JSON line on stdout (`--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
