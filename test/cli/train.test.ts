// `convnext train` end to end on a 2-class Fashion-MNIST subset written as IDX files: Ctrl-C saves and exits
// 130, --resume ends bit-identical to an uninterrupted run, a NaN loss stops with one line and keeps the last
// checkpoint, and changed settings are refused on resume.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { loadTrainCheckpoint } from "../../src/train/checkpoint-node.ts";
import { loadFashionMnist } from "../../src/train/data/fashion-mnist-node.ts";
import { CLI_FROM_SOURCE, type CliResult, convnext } from "./run-cli.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-train-cli-");

function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    new DataView(out.buffer).setUint32(4 + 4 * i, d, false);
  });
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** The first `perClass` images of classes 0 and 1 of each split, as IDX files in `dir`. */
async function writeSubset(dir: string, perClass: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const [split, prefix] of [
    ["train", "train"],
    ["test", "t10k"],
  ] as const) {
    const ds = await loadFashionMnist(split, undefined, false);
    const picked: number[] = [];
    const count = [0, 0];
    for (let i = 0; i < ds.n && picked.length < 2 * perClass; i++) {
      const l = ds.labels[i];
      if (l < 2 && count[l] < perClass) {
        count[l]++;
        picked.push(i);
      }
    }
    const size = ds.width * ds.height;
    const images = new Uint8Array(picked.length * size);
    picked.forEach((i, k) => {
      images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    });
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idxBytes([picked.length, 28, 28], images));
    const labels = Uint8Array.from(picked, (i) => ds.labels[i]);
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxBytes([picked.length], labels));
  }
  return dir;
}

const data = await writeSubset(join(tmp, "fm2"), 100);
const tinyModel = '{"dims":[8,16,24,32],"depths":[1,1,1,1],"patchSize":2,"kernelSize":3}';
const common = ["--data", data, "--config", tinyModel, "--batch", "8", "--threads", "1", "--workers", "1"];

/** Spawns `convnext train …` and sends `signal` once the first step line appears on stderr. */
function trainInterrupted(args: string[], signal: NodeJS.Signals = "SIGINT"): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_FROM_SOURCE, "train", ...args]);
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!sent && /^step 1\//m.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function records(dir: string): { kind: string; [k: string]: unknown }[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

test("Ctrl-C saves a checkpoint and exits 130; --resume then matches an uninterrupted run bit for bit", async () => {
  // Data parallel (two single-thread sessions on worker threads), which must be as repeatable as one session.
  const parallel = [...common, "--replicas", "2"];
  const whole = join(tmp, "whole");
  const r = convnext("train", ...parallel, "--epochs", "4", "--out", whole);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /peak memory \(RSS\) \d+ MB/);
  assert.match(r.stderr, /data parallel: 2 single-thread sessions, 4 images/);

  const split = join(tmp, "split");
  const stopped = await trainInterrupted([...parallel, "--epochs", "4", "--out", split]);
  assert.equal(stopped.code, 130, stopped.stderr);
  const ckpt = await loadTrainCheckpoint(join(split, "checkpoint.safetensors"));
  assert.ok(ckpt.state.step >= 1 && ckpt.state.step < 88, `stopped at step ${ckpt.state.step}`);
  assert.equal(records(split).at(-1)?.kind, "stop");

  const resumed = convnext("train", "--resume", split, "--threads", "1", "--replicas", "2");
  assert.equal(resumed.code, 0, resumed.stderr);
  for (const file of ["model.safetensors", "checkpoint.safetensors"]) {
    assert.ok(readFileSync(join(split, file)).equals(readFileSync(join(whole, file))), `${file} differs`);
  }
  const losses = (dir: string) => records(dir).flatMap((x) => (x.kind === "step" ? [x.loss] : []));
  assert.deepEqual(losses(split), losses(whole));
  assert.equal(losses(whole).length, 88);

  // What ships: EMA weights under timm names, with the metadata `classify`/`eval` read.
  const model = parseSafetensors(new Uint8Array(readFileSync(join(whole, "model.safetensors"))));
  assert.ok(model.tensors.has("head.fc.weight") && model.tensors.has("stem.0.weight"));
  assert.deepEqual(JSON.parse(model.metadata.config).dims, [8, 16, 24, 32]);
  assert.equal(JSON.parse(model.metadata.labels).length, 10);
  assert.equal(JSON.parse(model.metadata.preprocess).inputSize, 32);
  const svg = readFileSync(join(whole, "curves.svg"), "utf8");
  assert.match(svg, /<polyline class="series" data-series="train-loss"/);
  assert.match(readFileSync(join(whole, "curves.html"), "utf8"), /<svg/);
  assert.equal(records(whole).filter((x) => x.kind === "epoch").length, 4);
});

test("SIGTERM also stops after the step with a checkpoint, exit 143, and the run resumes", async () => {
  const out = join(tmp, "term");
  const stopped = await trainInterrupted([...common, "--epochs", "2", "--out", out], "SIGTERM");
  assert.equal(stopped.code, 143, stopped.stderr);
  assert.match(stopped.stderr, /SIGTERM: stopping after this step and saving a checkpoint/);
  const ckpt = await loadTrainCheckpoint(join(out, "checkpoint.safetensors"));
  assert.ok(ckpt.state.step >= 1, `stopped at step ${ckpt.state.step}`);
  assert.deepEqual(
    records(out)
      .filter((x) => x.kind === "stop")
      .map((x) => x.reason),
    ["SIGTERM"],
  );
  const resumed = convnext("train", "--resume", out, "--threads", "1");
  assert.equal(resumed.code, 0, resumed.stderr);
});

test("a NaN loss stops with one line and a non-zero exit, keeping the last good checkpoint", async () => {
  // 2 × 20 images, batch 32: one step per epoch, so step 1 is checkpointed before lr 1e30 breaks step 2.
  const small = await writeSubset(join(tmp, "fm40"), 20);
  const out = join(tmp, "nan");
  const r = convnext(
    "train",
    "--data",
    small,
    "--config",
    tinyModel,
    "--batch",
    "32",
    "--epochs",
    "5",
    "--lr",
    "1e30",
    "--warmup-epochs",
    "0",
    "--threads",
    "1",
    "--out",
    out,
  );
  assert.notEqual(r.code, 0);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("convnext:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(
    errors[0],
    /^convnext: loss is (NaN|-?Infinity) at step 2 .*last good checkpoint: .*checkpoint\.safetensors \(step 1\)$/,
  );
  const ckpt = await loadTrainCheckpoint(join(out, "checkpoint.safetensors"));
  assert.equal(ckpt.state.step, 1);
  assert.equal(records(out).at(-1)?.kind, "error");
});

test("--resume refuses changed settings; a fresh run refuses a directory holding one", () => {
  const out = join(tmp, "whole");
  assert.ok(existsSync(join(out, "checkpoint.safetensors")));
  const r = convnext("train", "--resume", out, "--lr", "0.1", "--epochs", "9");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^convnext: --resume .*drop --epochs, --lr/m);
  const again = convnext("train", ...common, "--out", out);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a run: continue it with --resume/);
  const bad = convnext(
    "train",
    "--data",
    data,
    "--config",
    '{"dims":[8],"depthz":[1]}',
    "--out",
    join(tmp, "x"),
  );
  assert.match(bad.stderr, /--config: unknown field\(s\) depthz/);
});
