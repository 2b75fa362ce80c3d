// No command overwrites one of its inputs, whatever the spelling (symlink, hard link, `..`), nor writes into an
// input model folder; a wrong extension is refused. The helper directly, then every command through the CLI.
import assert from "node:assert/strict";
import { copyFileSync, cpSync, linkSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { checkOutput } from "../../src/cli/output-guard.ts";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { convnext } from "./run-cli.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-guard-");
const weights = join(tmp, "weights.safetensors");
copyFileSync(join(REPO_ROOT, "assets", "models", "fashion-mnist", "model.safetensors"), weights);
const hf = join(tmp, "hf");
cpSync(fixture("models", "hf-eps", "hf"), hf, { recursive: true });
const image = join(tmp, "coat.png");
copyFileSync(join(REPO_ROOT, "assets", "examples", "coat.png"), image);

const st = (path: string) => ({
  flag: "--output",
  path,
  extensions: [".safetensors"],
  writes: "safetensors",
});

test("the same file under another name is refused: symlink, hard link, relative spelling", async () => {
  const link = join(tmp, "link.safetensors");
  symlinkSync(weights, link);
  const hard = join(tmp, "hard.safetensors");
  linkSync(weights, hard);
  const dotted = join(tmp, "hf", "..", basename(weights));
  for (const out of [weights, link, hard, dotted]) {
    await assert.rejects(
      checkOutput(st(out), [{ flag: "--weights", path: weights }]),
      /refusing to overwrite an input/,
      out,
    );
  }
  // A symlinked folder leading to the input, output not yet resolvable as a file of its own.
  const dirLink = join(tmp, "dir-link");
  symlinkSync(tmp, dirLink);
  await assert.rejects(
    checkOutput(st(join(dirLink, "weights.safetensors")), [{ flag: "--weights", path: weights }]),
    /is the --weights file/,
  );
  await checkOutput(st(join(tmp, "fresh.safetensors")), [{ flag: "--weights", path: weights }]);
});

test("an output inside an input model folder is refused; a missing input is left to its reader", async () => {
  await assert.rejects(
    checkOutput(st(join(hf, "converted.safetensors")), [{ flag: "checkpoint", path: hf, folder: true }]),
    /lies inside the checkpoint folder/,
  );
  await checkOutput(st(join(tmp, "x.safetensors")), [{ flag: "--input", path: join(tmp, "missing") }]);
});

test("an output that a model folder's file links to (symlink or hard link) is refused", async () => {
  const linkedHf = join(tmp, "hf-linked");
  mkdirSync(linkedHf);
  copyFileSync(join(hf, "config.json"), join(linkedHf, "config.json"));
  const target = join(tmp, "real-hf.safetensors");
  copyFileSync(join(hf, "model.safetensors"), target);
  symlinkSync(target, join(linkedHf, "model.safetensors"));
  const hardHf = join(tmp, "hf-hard");
  mkdirSync(hardHf);
  linkSync(target, join(hardHf, "model.safetensors"));
  for (const folder of [linkedHf, hardHf]) {
    await assert.rejects(
      checkOutput(st(target), [{ flag: "--weights", path: folder, folder: true }]),
      /real-hf\.safetensors: is .*model\.safetensors of the --weights folder; refusing to overwrite an input/,
      folder,
    );
  }
  const r = convnext("convert", linkedHf, "--output", target);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(readFileSync(target), readFileSync(join(hf, "model.safetensors")));
});

test("wrong or bare extensions, folders and missing folders are refused; case does not matter", async () => {
  for (const bad of ["out.pth", "out.onnx", ".safetensors", "out"])
    await assert.rejects(checkOutput(st(join(tmp, bad)), []), /must end in \.safetensors/);
  await checkOutput(st(join(tmp, "OUT.SafeTensors")), []);
  await assert.rejects(checkOutput(st(join(tmp, "no-such-folder", "o.safetensors")), []), /does not exist/);
  const folderNamedLikeAFile = join(tmp, "folder.safetensors");
  mkdirSync(folderNamedLikeAFile);
  await assert.rejects(checkOutput(st(folderNamedLikeAFile), []), /is a directory/);
});

/** Runs a command that must refuse: a usage error (exit 2), one stderr line naming the output, inputs unchanged. */
function refused(args: string[], inputs: string[], pattern: RegExp): void {
  const before = inputs.map((f) => readFileSync(f));
  const r = convnext(...args);
  assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
  inputs.forEach((f, i) => {
    assert.ok(readFileSync(f).equals(before[i]), `${f} changed`);
  });
}

test("every command refuses to overwrite its inputs or to write the wrong format", () => {
  const hfWeights = join(hf, "model.safetensors");
  const overwrite = /refusing to (overwrite an input|write into an input)/;
  refused(["run", "--weights", weights, "--input", weights, "--output", weights], [weights], overwrite);
  refused(["run", "--weights", hf, "--input", weights, "--output", hfWeights], [hfWeights], overwrite);
  refused(["run", "--weights", weights, "--input", weights, "--output", join(tmp, "o.pth")], [], /\.pth/);
  refused(["preprocess", image, "--output", image], [image], /must end in \.safetensors/);
  const pngAsSt = join(tmp, "image.safetensors");
  copyFileSync(image, pngAsSt);
  refused(["preprocess", pngAsSt, "--output", pngAsSt], [pngAsSt], overwrite);
  refused(["export", weights, "--output", join(tmp, "x.safetensors")], [], /must end in \.onnx/);
  const onnxNamed = join(tmp, "weights.onnx");
  copyFileSync(weights, onnxNamed);
  refused(["export", "convnext_atto", "--weights", onnxNamed, "--output", onnxNamed], [onnxNamed], overwrite);
  refused(["convert", weights, "--output", weights], [weights], overwrite);
  refused(["convert", hf, "--output", join(hf, "timm.safetensors")], [hfWeights], overwrite);
  refused(["convert", weights, "--output", join(tmp, "model.onnx")], [], /must end in \.safetensors/);
  refused(["embed", pngAsSt, "--weights", weights, "--output", pngAsSt], [pngAsSt], overwrite);
  refused(
    ["train-step", "--weights", weights, "--batch", weights, "--output", weights],
    [weights],
    overwrite,
  );
});

test("train refuses an --out folder whose files would replace the --init weights", () => {
  const run = join(tmp, "run");
  mkdirSync(run);
  const init = join(run, "model.safetensors");
  copyFileSync(weights, init);
  const data = join(tmp, "data"); // not read: the refusal comes first; --out may not lie inside it
  mkdirSync(data, { recursive: true });
  refused(
    ["train", "--data", data, "--init", init, "--out", run],
    [init],
    /--out .*model\.safetensors: is the --init file/,
  );
});
