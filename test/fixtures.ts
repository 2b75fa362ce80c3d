// Where the reference fixtures live: ../shared/fixtures beside the checkout (CI has it there too).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const FIXTURES = process.env.CONVNEXT_FIXTURES ?? resolve(repoRoot, "../shared/fixtures");
if (!existsSync(FIXTURES)) throw new Error(`fixtures not found at ${FIXTURES} (set CONVNEXT_FIXTURES)`);

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}
export const REPO_ROOT = repoRoot;
