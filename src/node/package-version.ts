/**
 * This package's own version, read from its package.json. The file is found by walking up from this module,
 * so the lookup works from src/ (run by tsx) and from a compiled dist/ of the same depth or any other: the
 * first package.json named "convnext" on the way up is ours (a consumer's own package.json is skipped).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NAME = "convnext";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === NAME && typeof pkg.version === "string") {
        cached = pkg.version;
        return cached;
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json named '${NAME}' above ${start}`);
  }
}
