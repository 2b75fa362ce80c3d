// `convnext roadmap --train`: two steps, one tiny epoch; the table (markdown, JSON), settings and chart files
// appear with one row per step, and bad options get one-line errors.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runRoadmapCommand } from "./run-roadmap-command.ts";
import { FASHION_MNIST_DIR } from "../../src/train/data/fashion-mnist-node.ts";

const haveFmnist = existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));

const run = runRoadmapCommand;

test("roadmap --train on two steps writes table, settings and chart", {
  skip: !haveFmnist && "apt-get install dataset-fashion-mnist to run",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "roadmap-train-"));
  try {
    const steps = ["resnet50", "convnext_t"];
    const stdout = await run([
      "roadmap",
      "--train",
      "fashion-mnist",
      "--steps",
      steps.join(","),
      "--epochs",
      "1",
      "--limit",
      "256",
      "--batch",
      "64",
      "--width-scale",
      "0.125",
      "--depth-scale",
      "0.34",
      "--threads",
      "1",
      "--out",
      dir,
    ]);
    // What was used is printed with the result.
    assert.match(stdout, /resolution 32, width ×0\.125, depth ×0\.34, epochs 1, batch 64/);
    for (const f of ["table.json", "table.md", "settings.json", "chart.svg", "chart.html", "log.jsonl"])
      assert.ok(existsSync(join(dir, f)), `${f} written`);

    const rows = JSON.parse(readFileSync(join(dir, "table.json"), "utf8"));
    assert.deepEqual(
      rows.map((r: { step: string }) => r.step),
      steps,
    );
    for (const r of rows) {
      // The keys of `roadmap --json` keep their meaning: the paper-scale model at 224².
      for (const k of ["params", "macs", "gmacs", "paper_gflops", "paper_top1"]) assert.ok(k in r, k);
      assert.ok(r.macs > 4e9 && r.run_macs < r.macs / 100, `${r.step}: run MACs ${r.run_macs}`);
      assert.ok(r.run_params < r.params / 20);
      assert.ok(r.top1 >= 0 && r.top1 <= 100 && r.top5 >= r.top1, `${r.step}: top-1 ${r.top1}`);
      assert.ok(r.train_seconds > 0);
    }
    assert.deepEqual(rows[0].run_depths, [1, 1, 2, 1]);
    assert.deepEqual(rows[0].run_widths, [8, 16, 32, 64]);

    const settings = JSON.parse(readFileSync(join(dir, "settings.json"), "utf8"));
    assert.equal(settings.resolution, 32);
    assert.equal(settings.width_scale, 0.125);
    assert.equal(settings.train_images, 256);
    assert.equal(settings.batches_per_epoch, 4);
    assert.ok(settings.wall_seconds > 0);

    const md = readFileSync(join(dir, "table.md"), "utf8").trim().split("\n");
    assert.equal(md.length, 2 + steps.length);
    assert.match(md[2], /^\| 0 \| resnet50 \|/);
    const svg = readFileSync(join(dir, "chart.svg"), "utf8");
    assert.equal([...svg.matchAll(/<rect class="bar"/g)].length, steps.length);
    assert.ok(readFileSync(join(dir, "chart.html"), "utf8").includes("<svg "));
    const log = readFileSync(join(dir, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual([...new Set(log.map((l) => l.step))], steps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("roadmap --train --resolution 64 scales the images up and trains at 64²", {
  skip: !haveFmnist && "apt-get install dataset-fashion-mnist to run",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "roadmap-train-64-"));
  try {
    const args = ["--steps", "patchify", "--epochs", "1", "--limit", "64", "--batch", "32"];
    const small = ["--width-scale", "0.125", "--depth-scale", "0.34", "--threads", "1", "--json"];
    const out = JSON.parse(
      await run([
        "roadmap",
        "--train",
        "fashion-mnist",
        ...args,
        ...small,
        "--resolution",
        "64",
        "--out",
        dir,
      ]),
    );
    // 28 px × 64/32 = 56 px, centred on the 64² canvas (pad 4), shifted up to ±4 px in training.
    assert.deepEqual([out.settings.test_transform.size, out.settings.test_transform.pad], [64, 4]);
    assert.equal(out.settings.train_transform.pad, 8);
    const at32 = JSON.parse(
      await run(["roadmap", "--train", "fashion-mnist", ...args, ...small, "--out", join(dir, "32")]),
    );
    // Conv MACs grow with the pixel count; the head's do not.
    const ratio = out.rows[0].run_macs / at32.rows[0].run_macs;
    assert.ok(ratio > 3.5 && ratio <= 4, `MACs 64² / 32² = ${ratio}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("roadmap --train refuses an unknown dataset, step or a resolution off the 32 grid", async () => {
  await assert.rejects(run(["roadmap", "--train", "cifar-11"]), /--train: unknown dataset 'cifar-11'/);
  await assert.rejects(
    run(["roadmap", "--train", "fashion-mnist", "--resolution", "48"]),
    /--resolution must be a multiple of 32.*got 48/,
  );
  await assert.rejects(
    run(["roadmap", "--train", "fashion-mnist", "--steps", "resnet50,nope"]),
    /--steps: unknown step nope in regime r50/,
  );
  await assert.rejects(run(["roadmap", "--width-scale", "0"]), /--width-scale must be a number > 0, got '0'/);
});
