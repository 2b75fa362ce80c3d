/**
 * Where a training step's time goes (onnxruntime's profiler): kernel ms per step by op type and the heaviest
 * nodes, for one model / resolution / batch (GRAPH=file.onnx profiles a step graph written by
 * compare-step-graphs.ts instead of today's). Usage:
 *   node --import tsx bench/step-profile.ts convnext_atto 128 32 [runs] [topNodes]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { Rng } from "../src/train/rng.ts";
import { buildTrainStep } from "../src/train/step-graph.ts";
import { convnextTrainable } from "../src/train/trainable.ts";
import { fashionMnistModel } from "./fashion-mnist-model.ts";
import { randomStepFeeds } from "./step-feeds.ts";

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const [model, res, batch, runsArg, topArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const cfg: ConvNeXtConfig =
  model === "fashion-mnist" ? fashionMnistModel() : modelConfig(model, { dropPathRate: 0.1 });
const shape: [number, number, number, number] = [Number(batch), cfg.inChans, Number(res), Number(res)];
const step = buildTrainStep(convnextTrainable(cfg), shape);
const feeds = randomStepFeeds(step, cfg, new Rng(1));

const dir = mkdtempSync(join(tmpdir(), "convnext-step-profile-"));
const onnx = process.env.GRAPH ? new Uint8Array(readFileSync(process.env.GRAPH)) : step.onnx;
const session = await createSession(onnx, {
  threads: Number(process.env.THREADS ?? 2),
  spinning: false,
  profilePrefix: join(dir, "p"),
});
const t0: number[] = [];
for (let i = 0; i <= runs; i++) {
  const s = performance.now();
  await session.run(feeds);
  t0.push(performance.now() - s);
}
session.endProfiling();
const file = readdirSync(dir).find((f) => f.endsWith(".json"))!;
const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as ProfileEvent[];
rmSync(dir, { recursive: true, force: true });
const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
const timed = kernels.slice(kernels.length / (runs + 1));
const byOp = new Map<string, [number, number]>();
const byNode = new Map<string, number>();
for (const e of timed) {
  const op = e.args?.op_name ?? "?";
  const [ms, n] = byOp.get(op) ?? [0, 0];
  byOp.set(op, [ms + e.dur / 1000 / runs, n + 1 / runs]);
  const node = `${op} ${e.name.replace(/_kernel_time$/, "")}`;
  byNode.set(node, (byNode.get(node) ?? 0) + e.dur / 1000 / runs);
}
const total = [...byOp.values()].reduce((a, [ms]) => a + ms, 0);
console.log(
  `step wall ms: ${t0
    .slice(1)
    .map((t) => t.toFixed(0))
    .join(" ")}; kernel total ${total.toFixed(1)} ms`,
);
for (const [op, [ms, n]] of [...byOp].sort((a, b) => b[1][0] - a[1][0])) {
  console.log(`${op.padEnd(28)}${ms.toFixed(1).padStart(8)} ms ${n.toFixed(0).padStart(6)} kernels`);
}
console.log("heaviest nodes:");
for (const [node, ms] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 40))) {
  console.log(`${ms.toFixed(2).padStart(8)} ms  ${node}`);
}
