// The README's browser fine-tuning example, which pages are built from as a user would build theirs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../fixtures.ts";

/** The first TypeScript block of the README that calls createWebFineTuner. */
export function readmeFineTuneBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((b) => b.includes("createWebFineTuner("));
  assert.ok(block, "README has no fine-tuning example");
  return block;
}
