/**
 * Where a training step's time goes (onnxruntime's profiler): kernel ms per step by op type and the heaviest
 * nodes, for one model / resolution / batch (GRAPH=file.onnx profiles a step graph written by
 * compare-step-graphs.ts instead of today's). Today's graph gets the options `convnext train` gives a session of
 * THREADS threads (default 2) on this machine: the Node engine's own (NCHWc depthwise convs, row ranges). Usage:
 *   node --import tsx bench/step-profile.ts convnext_atto 128 32 [runs] [topNodes]
 */
import { readFileSync } from "node:fs";
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { modelConfig } from "../src/models/variants.ts";
import { Rng } from "../src/train/rng.ts";
import { nodeStepEngine } from "../src/train/engine-node.ts";
import { buildTrainStep } from "../src/train/step-graph.ts";
import { convnextTrainable } from "../src/train/trainable.ts";
import { fashionMnistModel } from "./fashion-mnist-model.ts";
import { profileRuns } from "./kernel-profile.ts";
import { randomStepFeeds } from "./step-feeds.ts";

const [model, res, batch, runsArg, topArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const cfg: ConvNeXtConfig =
  model === "fashion-mnist" ? fashionMnistModel() : modelConfig(model, { dropPathRate: 0.1 });
const shape: [number, number, number, number] = [Number(batch), cfg.inChans, Number(res), Number(res)];
const threads = Number(process.env.THREADS ?? 2);
const step = buildTrainStep(
  convnextTrainable(cfg),
  shape,
  await nodeStepEngine({ threads }).graphOptions?.(),
);
const feeds = randomStepFeeds(step, cfg, new Rng(1));

const onnx = process.env.GRAPH ? new Uint8Array(readFileSync(process.env.GRAPH)) : step.onnx;
const { events, wallMs } = await profileRuns(onnx, feeds, {
  threads,
  runs,
});
const byOp = new Map<string, [number, number]>();
const byNode = new Map<string, number>();
for (const e of events.flat()) {
  const [ms, n] = byOp.get(e.op) ?? [0, 0];
  byOp.set(e.op, [ms + e.ms / runs, n + 1 / runs]);
  const node = `${e.op} ${e.node}`;
  byNode.set(node, (byNode.get(node) ?? 0) + e.ms / runs);
}
const total = [...byOp.values()].reduce((a, [ms]) => a + ms, 0);
console.log(
  `step wall ms: ${wallMs.map((t) => t.toFixed(0)).join(" ")}; kernel total ${total.toFixed(1)} ms`,
);
for (const [op, [ms, n]] of [...byOp].sort((a, b) => b[1][0] - a[1][0])) {
  console.log(`${op.padEnd(28)}${ms.toFixed(1).padStart(8)} ms ${n.toFixed(0).padStart(6)} kernels`);
}
console.log("heaviest nodes:");
for (const [node, ms] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 40))) {
  console.log(`${ms.toFixed(2).padStart(8)} ms  ${node}`);
}
