// Runs the `convnext` command as a user would, returning exit code and output.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../fixtures.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Node arguments that start the command from the sources (tsx's loader, no build needed). */
export const CLI_FROM_SOURCE = ["--import", "tsx", join(REPO_ROOT, "test", "cli", "convnext-source.ts")];

export function convnext(...args: string[]): CliResult {
  return convnextWithEnv({}, ...args);
}

/** `convnext` with these environment variables added to (or, when "", blanked in) this process's. */
export function convnextWithEnv(env: Record<string, string>, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [...CLI_FROM_SOURCE, ...args], {
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
