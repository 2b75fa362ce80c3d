// `convnext train` on an image folder with undecodable files: they are skipped (the first one even when it is
// the image the data set is probed with), reported once each however many epochs meet them, and counted in
// metrics.jsonl and the summary. A fresh run removes temp files of killed saves (not a live writer's) and,
// when it fails before its first checkpoint, leaves no output behind.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deadPid, tempDir } from "../helpers.ts";
import sharp from "sharp";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { loadTrainCheckpoint } from "../../src/train/checkpoint-node.ts";
import { Rng } from "../../src/train/rng.ts";
import { convnext } from "./run-cli.ts";

const tmp = tempDir("convnext-train-robust-");

const tiny = '{"dims":[8,16,24,32],"depths":[1,1,1,1],"patchSize":2,"kernelSize":3}';

/** 10 noisy 16×16 PNGs per class, plus undecodable files: the first listed, and an empty one. */
async function writeFolder(root: string): Promise<string[]> {
  const rng = new Rng(3);
  for (const [c, name] of ["left", "top"].entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const px = Buffer.from(
        Array.from({ length: 16 * 16 * 3 }, (_, k) => (k % 48 < 24 === (c === 0) ? 200 : rng.int(90))),
      );
      await sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
        .png()
        .toFile(join(root, name, `${i}.png`));
    }
  }
  const bad = [join(root, "left", "00-broken.png"), join(root, "top", "empty.jpg")];
  writeFileSync(bad[0], "this is not a PNG");
  writeFileSync(bad[1], "");
  return bad;
}

function records(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

test("undecodable images are skipped, reported once, counted; stale temp files are removed at the start", async () => {
  const root = join(tmp, "shapes");
  const bad = await writeFolder(root);
  const out = join(tmp, "run");
  mkdirSync(out);
  const stale = `.checkpoint.safetensors.${deadPid()}.0123456789ab.tmp`;
  const live = `.model.safetensors.${process.pid}.00000000ffff.tmp`;
  writeFileSync(join(out, stale), Buffer.alloc(2_000_000));
  writeFileSync(join(out, live), "a writer that is still running");
  const args = ["--data", root, "--config", tiny, "--epochs", "3", "--batch", "4", "--val-split", "0.25"];
  const r = convnext("train", ...args, "--threads", "1", "--workers", "1", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /removed 1 temp file\(s\) of interrupted saves \(2\.0 MB\)/);
  assert.ok(!existsSync(join(out, stale)) && existsSync(join(out, live)));
  for (const file of bad) {
    const lines = r.stderr.split("\n").filter((l) => l.startsWith(`skipped ${file}: `));
    assert.equal(lines.length, 1, `${file} reported once:\n${r.stderr}`);
  }
  assert.match(r.stdout, /; 2 undecodable file\(s\) skipped \(listed in .*metrics\.jsonl\)/);
  const recs = records(out);
  assert.deepEqual(
    recs
      .filter((x) => x.kind === "skipped")
      .map((x) => x.file)
      .sort(),
    [...bad].sort(),
  );
  const epochs = recs.filter((x) => x.kind === "epoch");
  assert.equal(epochs.length, 3);
  assert.equal(epochs.at(-1)?.skippedFiles, 2);
  assert.deepEqual(
    recs.filter((x) => x.kind === "summary").map((x) => x.skippedFiles),
    [2],
  );
  // The training batches kept their size: every epoch took all its steps.
  const ckpt = await loadTrainCheckpoint(join(out, "checkpoint.safetensors"));
  assert.equal(ckpt.state.step, epochs.at(-1)?.step);
  const generation = () =>
    parseSafetensors(new Uint8Array(readFileSync(join(out, "model.safetensors")))).metadata.generation;
  assert.equal(generation(), ckpt.model?.generation);
  // A model that does not belong to the checkpoint (as a kill between the two renames leaves it) is rewritten
  // from the checkpoint when the run is resumed.
  writeFileSync(join(out, "model.safetensors"), "damaged");
  const resumed = convnext("train", "--resume", out, "--threads", "1");
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(
    resumed.stderr,
    /model\.safetensors did not match .*checkpoint\.safetensors \(a save was interrupted\): rewritten from it/,
  );
  assert.equal(generation(), ckpt.model?.generation);
  // Resumed into another folder, the file beside the checkpoint is not this run's output: left alone.
  writeFileSync(join(out, "model.safetensors"), "someone's file");
  const elsewhere = convnext("train", "--resume", out, "--threads", "1", "--out", join(tmp, "elsewhere"));
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.equal(readFileSync(join(out, "model.safetensors"), "utf8"), "someone's file");
});

test("a fresh run that fails before its first checkpoint leaves no output", async () => {
  const root = join(tmp, "shapes");
  if (!existsSync(root)) await writeFolder(root);
  const out = join(tmp, "fails", "run");
  // lr 1e30 breaks step 2, inside the first epoch: no checkpoint was written.
  const r = convnext(
    "train",
    ...["--data", root, "--config", tiny, "--batch", "4", "--lr", "1e30", "--warmup-epochs", "0"],
    ...["--threads", "1", "--out", out],
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /last good checkpoint: none was written yet/);
  assert.ok(!existsSync(out), `${out} should not exist: ${existsSync(out) ? readdirSync(out) : ""}`);
});

test("train refuses at once: --out a file, under a file or inside --data; --num-classes unlike the data; sizes past their bound", async () => {
  const root = join(tmp, "shapes");
  if (!existsSync(root)) await writeFolder(root);
  const aFile = join(tmp, "a-file");
  writeFileSync(aFile, "");
  const base = ["train", "--data", root, "--config", tiny, "--batch", "4", "--threads", "1"];
  for (const [args, message] of [
    [["--out", aFile], `--out ${aFile}: exists and is not a folder`],
    [["--out", join(aFile, "run")], `--out ${join(aFile, "run")}: ${aFile} is not a folder`],
    [
      ["--out", join(root, "left", "run")],
      `--out ${join(root, "left", "run")}: lies inside the --data folder ${root}`,
    ],
    [
      ["--out", join(tmp, "nc"), "--num-classes", "3"],
      "--num-classes 3 differs from the 2 classes of the data",
    ],
    [["--out", join(tmp, "big"), "--resolution", "100000"], "--resolution must be an integer from 1 to 2048"],
    [
      ["--out", join(tmp, "preset"), "--preset", "bogus"],
      "--preset bogus is not one of imagenet, small-data, finetune",
    ],
  ] as [string[], string][]) {
    const r = convnext(...base, ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`convnext: ${message}`), r.stderr);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  }
  assert.deepEqual(
    readdirSync(join(root, "left")).filter((f) => !f.endsWith(".png")),
    [],
  );
  const noModel = convnext("eval", "--data", root);
  assert.equal(noModel.code, 2, noModel.stderr);
  assert.equal(
    noModel.stderr,
    "convnext: choose the model to evaluate: --weights <file> or --model <arch.tag>\n",
  );
});
