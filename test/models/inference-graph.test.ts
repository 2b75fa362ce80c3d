// The inference lowering: only what the requested outputs need, and the same values as the plain graph.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { buildConvNeXt } from "../../src/models/convnext.ts";
import { inferenceGraph } from "../../src/models/inference-graph.ts";
import { initParams } from "../../src/models/init.ts";
import { modelConfig } from "../../src/models/variants.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";
import { Rng } from "../../src/train/rng.ts";
import { maxAbsDiff } from "../helpers.ts";

const cfg = modelConfig("convnext_atto", { numClasses: 10 });
const rng = new Rng(5);
const weights = initParams(cfg, () => rng.normal());

test("a stage-1 graph holds no node or weight of stages 2–3 or the head", () => {
  const g = inferenceGraph(cfg, weights, ["stage1"]);
  const names = [...g.initializers.keys()];
  assert.ok(names.some((n) => n.startsWith("stages.1.")));
  assert.deepEqual(
    names.filter((n) => /^(stages\.[23]\.|head\.)/.test(n)),
    [],
  );
  const all = buildConvNeXt(cfg, { weights, outputs: ["stage1"] }).graph;
  assert.ok(g.nodes.length < all.nodes.length / 2, `${g.nodes.length} of ${all.nodes.length} nodes`);
});

test("channels-last lowering: every feature output equals the plain graph's (NCHW) to 1e-5", async () => {
  const outputs = ["stem", "stage0", "stage2", "pre_logits", "logits"] as const;
  const x = float32(
    [2, 3, 64, 64],
    Float32Array.from({ length: 2 * 3 * 64 * 64 }, () => rng.normal()),
  );
  const run = async (bytes: Uint8Array) => {
    const s = await createSession(bytes, { threads: 1 });
    const out = await s.run({ x });
    await s.release();
    return out;
  };
  const plain = await run(toOnnxBytes(buildConvNeXt(cfg, { weights, outputs: [...outputs] }).graph));
  const lowered = await run(toOnnxBytes(inferenceGraph(cfg, weights, outputs)));
  for (const name of outputs) {
    const d = maxAbsDiff(lowered[name], plain[name]);
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  }
});
