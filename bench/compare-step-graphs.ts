/**
 * Times training-step graphs written at different commits against each other, in one process, interleaved, with
 * the same feeds, and compares every output (loss, logits, gradients) with the first graph's. How each step-graph
 * change in docs/training-step.md was measured:
 *   node --import tsx bench/compare-step-graphs.ts write convnext_atto 128 32 before.onnx   (at the old commit)
 *   node --import tsx bench/compare-step-graphs.ts time convnext_atto 128 32 7 before.onnx after.onnx
 * `fashion-mnist` names the bundled model's architecture. THREADS sets the sessions' threads (default 2).
 * For graph options of one commit, `write` reads NCHWC (the NCHWc block size; unset: off) and DENSE (dense
 * depthwise pixels per tap) and SPLIT (the session threads the graph is built for: weight-gradient row ranges).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { Rng } from "../src/train/rng.ts";
import { buildTrainStep } from "../src/train/step-graph.ts";
import { convnextTrainable } from "../src/train/trainable.ts";
import { fashionMnistModel } from "./fashion-mnist-model.ts";
import { compareAllMs } from "./stats.ts";
import { randomStepFeeds } from "./step-feeds.ts";

const [mode, model, res, batch, ...rest] = process.argv.slice(2);
const cfg: ConvNeXtConfig =
  model === "fashion-mnist" ? fashionMnistModel() : modelConfig(model, { dropPathRate: 0.1 });
const shape: [number, number, number, number] = [Number(batch), cfg.inChans, Number(res), Number(res)];
const step = buildTrainStep(convnextTrainable(cfg), shape, {
  nchwcBlockSize: process.env.NCHWC ? Number(process.env.NCHWC) : undefined,
  denseDepthwiseMaxPixelsPerTap: process.env.DENSE ? Number(process.env.DENSE) : undefined,
  sessionThreads: process.env.SPLIT ? Number(process.env.SPLIT) : undefined,
});

if (mode === "write") {
  writeFileSync(rest[0], step.onnx);
} else if (mode === "time") {
  const [repeats, ...files] = rest;
  const feeds = randomStepFeeds(step, cfg, new Rng(1));
  const threads = Number(process.env.THREADS ?? 2);
  const sessions = await Promise.all(
    files.map((f) => createSession(new Uint8Array(readFileSync(f)), { threads, spinning: false })),
  );
  const outs = await Promise.all(sessions.map((s) => s.run(feeds)));
  for (const [k, out] of outs.entries()) {
    if (k === 0) continue;
    let worst = 0;
    let where = "";
    for (const [name, ref] of Object.entries(outs[0])) {
      const a = ref.data as Float32Array;
      const b = out[name].data as Float32Array;
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      if (diff / scale > worst) [worst, where] = [diff / scale, name];
    }
    console.log(
      `${files[k]}: worst relative difference from ${files[0]}: ${worst.toExponential(2)} (${where})`,
    );
  }
  const timings = await compareAllMs(
    sessions.map((s) => () => s.run(feeds)),
    Number(repeats),
    1,
  );
  for (const [k, t] of timings.entries()) {
    console.log(`${files[k]}: median ${t.median.toFixed(1)} ms, CPU ${t.cpuMedian.toFixed(0)} ms`);
  }
} else {
  throw new Error("usage: compare-step-graphs.ts write|time <model> <res> <batch> …");
}
