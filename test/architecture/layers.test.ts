// The layering rules of docs (architecture.md): which folders may import which, Node built-ins only in
// *-node.ts files and the CLI, and onnxruntime only behind runtime/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../fixtures.ts";

const SRC = join(REPO_ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sourceFiles(SRC).map((path) => {
  const text = readFileSync(path, "utf8");
  const imports = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm),
  ].map((m) => m[1] ?? m[2]);
  return { rel: relative(SRC, path), imports };
});

const isNodeSide = (rel: string) =>
  /-node\.ts$/.test(rel) || rel.startsWith("cli/") || rel.startsWith("node/") || rel === "index.ts";
const NODE_BUILTINS =
  /^(node:|fs$|path$|zlib$|crypto$|os$|child_process$|worker_threads$|http$|https$|url$|util$|stream$)/;

test("library code that must run in browsers imports no Node built-ins", () => {
  const offenders = files
    .filter((f) => !isNodeSide(f.rel))
    .flatMap((f) =>
      f.imports.filter((i) => NODE_BUILTINS.test(i) || i === "sharp").map((i) => `${f.rel} imports ${i}`),
    );
  assert.deepEqual(offenders, []);
});

test("only runtime/ imports onnxruntime", () => {
  const offenders = files
    .filter((f) => !f.rel.startsWith("runtime/"))
    .flatMap((f) => f.imports.filter((i) => i.startsWith("onnxruntime")).map((i) => `${f.rel} imports ${i}`));
  assert.deepEqual(offenders, []);
});

// A layer may import only those to its left: tensor ← graph ← ops ← autodiff ← models ← train ← cli.
const ALLOWED: Record<string, string[]> = {
  tensor: ["tensor"],
  graph: ["tensor", "graph"],
  ops: ["tensor", "graph", "ops"],
  autodiff: ["tensor", "graph", "ops", "autodiff", "runtime"],
  runtime: ["tensor", "runtime"],
  checkpoint: ["tensor", "checkpoint", "models"],
  preprocess: ["tensor", "preprocess"],
};

test("layers import only the layers to their left", () => {
  const offenders: string[] = [];
  for (const f of files) {
    const layer = f.rel.split("/")[0];
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    for (const i of f.imports.filter((x) => x.startsWith("."))) {
      const target = relative(SRC, join(SRC, f.rel, "..", i)).split("/")[0];
      if (!allowed.includes(target)) offenders.push(`${f.rel} imports ${i}`);
    }
  }
  assert.deepEqual(offenders, []);
});
