// A run's checkpoint and model under SIGKILL: a child process saves in a loop and is killed at random moments,
// every other time as soon as a temp file appears (inside a write: random moments rarely land there).
// After every kill both files load and the model is never ahead of the checkpoint; what `train` does at its
// next start (remove stale temp files, repair the model) leaves no temp file and the two files agreeing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  copyFileSync,
  type FSWatcher,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import { removeStaleTemps } from "../../src/checkpoint/write-atomic-node.ts";
import {
  loadTrainCheckpoint,
  saveTrainRun,
  syncModelWithCheckpoint,
} from "../../src/train/checkpoint-node.ts";
import { Rng } from "../../src/train/rng.ts";
import { RUN_FIELDS, syntheticState } from "./synthetic-state.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-kill-");

const LOOP = new URL("./save-loop.ts", import.meta.url).pathname;

function pathsIn(dir: string) {
  return { checkpoint: join(dir, "checkpoint.safetensors"), model: join(dir, "model.safetensors") };
}

/** The model's step, after checking every value is the EMA value of that step. */
function modelStep(path: string): { step: number; generation: string } {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(path)), path);
  const step = Number(metadata.steps);
  for (const [k, t] of tensors)
    assert.ok(
      (t.data as Float32Array).every((v) => v === step + 0.5),
      `${path}: ${k} is not step ${step}`,
    );
  return { step, generation: metadata.generation };
}

/**
 * Starts the save loop, waits for its first save, then SIGKILLs it `ms` later, or ("in-write") when the next
 * temp file appears in `dir`.
 */
function runAndKill(dir: string, firstStep: number, ms: number | "in-write"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", LOOP, dir, String(firstStep)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let armed = false;
    let watcher: FSWatcher | undefined;
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.on("data", () => {
      if (armed) return;
      armed = true;
      if (ms !== "in-write") setTimeout(() => child.kill("SIGKILL"), ms);
      else
        watcher = watch(dir, (_, name) => {
          if (name?.endsWith(".tmp")) child.kill("SIGKILL");
        });
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      watcher?.close();
      if (signal === "SIGKILL" && armed) resolve();
      else reject(new Error(`save loop ended with ${code ?? signal} before it was killed: ${stderr}`));
    });
  });
}

test("SIGKILL at random moments of a save loop: files always load, a restart cleans up and makes them agree", async (t) => {
  const dir = join(tmp, "run");
  mkdirSync(dir);
  const paths = pathsIn(dir);
  const rng = new Rng(2026);
  const kills = 10;
  let temps = 0;
  let tempBytes = 0;
  let behind = 0;
  for (let round = 0; round < kills; round++) {
    await runAndKill(dir, 1000 * round + 1, round % 2 ? "in-write" : rng.int(700));
    // As the kill left them: both load, and the model is the checkpoint's or the save before it.
    const ckpt = await loadTrainCheckpoint(paths.checkpoint);
    const model = modelStep(paths.model);
    const wanted = ckpt.model?.generation;
    assert.ok(wanted?.startsWith(`${ckpt.state.step}-`), `generation ${wanted} of step ${ckpt.state.step}`);
    if (model.generation !== wanted) {
      assert.equal(model.step, ckpt.state.step - 1, "the model is at most one save behind");
      behind++;
    }
    const left = readdirSync(dir).filter((f) => f.endsWith(".tmp"));
    temps += left.length;
    tempBytes += left.reduce((n, f) => n + statSync(join(dir, f)).size, 0);

    // The next start.
    const removed = await removeStaleTemps(dir);
    assert.equal(removed.files.length, left.length);
    assert.equal(await syncModelWithCheckpoint(paths, ckpt), model.generation !== wanted);
    assert.deepEqual(readdirSync(dir).sort(), ["checkpoint.safetensors", "model.safetensors"]);
    const repaired = modelStep(paths.model);
    assert.deepEqual(repaired, { step: ckpt.state.step, generation: wanted });
  }
  t.diagnostic(
    `${kills} kills: ${temps} temp files (${(tempBytes / 1e6).toFixed(1)} MB) removed at restart, ${behind} models one save behind`,
  );
  assert.ok(temps > 0, "no kill landed inside a write");
});

test("a model one save behind its checkpoint (a kill between the renames) is rewritten from the checkpoint", async () => {
  const dir = join(tmp, "between");
  const paths = pathsIn(dir);
  const sizes = { "a.weight": 64, "b.bias": 8 };
  mkdirSync(dir);
  await saveTrainRun(paths, { ...RUN_FIELDS, state: syntheticState(1, sizes) }, { steps: "1" });
  copyFileSync(paths.model, join(dir, "model-1"));
  await saveTrainRun(paths, { ...RUN_FIELDS, state: syntheticState(2, sizes) }, { steps: "2" });
  // The second save's model rename never happened:
  copyFileSync(join(dir, "model-1"), paths.model);
  const ckpt = await loadTrainCheckpoint(paths.checkpoint);
  assert.equal(modelStep(paths.model).step, 1);
  assert.equal(await syncModelWithCheckpoint(paths, ckpt), true);
  assert.deepEqual(modelStep(paths.model), { step: 2, generation: ckpt.model?.generation });
  assert.equal(await syncModelWithCheckpoint(paths, ckpt), false, "agreeing files are left alone");
  // A missing or damaged model is rebuilt as well.
  rmSync(paths.model);
  assert.equal(await syncModelWithCheckpoint(paths, ckpt), true);
  assert.equal(modelStep(paths.model).step, 2);
});
