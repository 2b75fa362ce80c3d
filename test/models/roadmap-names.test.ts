// The end points load foreign weights as they are: torchvision's ResNet-50 names at step 0, timm's ConvNeXt
// names at the last step (checked on the v1-small timm weights); BatchNorm folding keeps the outputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { paramShapes } from "../../src/models/convnext.ts";
import { makeConfig } from "../../src/models/config.ts";
import {
  buildRoadmap,
  foldBatchNorms,
  type RoadmapConfig,
  roadmapConfig,
  roadmapParamShapes,
} from "../../src/models/roadmap.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { assertClose, MANIFEST, maxAbsDiff, readTensors, reduced } from "./roadmap-helpers.ts";

async function logits(cfg: RoadmapConfig, weights: Map<string, HostTensor>, x: HostTensor, opts = {}) {
  const { graph } = buildRoadmap(cfg, { weights, ...opts });
  const s = await createSession(toOnnxBytes(graph), { threads: 1 });
  const out = await s.run({ x });
  await s.release();
  return out.logits;
}

test("step resnet50 has torchvision's resnet50 state-dict names and shapes", () => {
  const { params, buffers } = roadmapParamShapes(roadmapConfig("r50", "resnet50"), "torchvision");
  const ours = [...params, ...buffers].map(([n, s]) => [n, s]);
  // num_batches_tracked only counts steps for momentum=None; BatchNorm here has momentum 0.1.
  const theirs = MANIFEST.torchvision_resnet50_state_dict.filter(
    ([n]) => !n.endsWith(".num_batches_tracked"),
  );
  assert.equal(theirs.length, 267);
  assert.deepEqual(new Map(ours as [string, number[]][]), new Map(theirs));
  // Forward order is state-dict order once each BatchNorm's buffers follow its weight and bias.
  assert.deepEqual(
    [...params.keys()],
    theirs.map(([n]) => n).filter((n) => !n.endsWith("running_mean") && !n.endsWith("running_var")),
  );
});

test("torchvision names describe the same network as the roadmap names", async () => {
  const fx = MANIFEST.steps.resnet50;
  const cfg = reduced(roadmapConfig("r50", "resnet50"), fx);
  const weights = readTensors("roadmap", "resnet50", "params.safetensors");
  const x = readTensors("roadmap", "resnet50", "expected.safetensors").get("x")!;
  const ours = roadmapParamShapes(cfg);
  const tv = roadmapParamShapes(cfg, "torchvision");
  // Rename in forward order, as torchvision's state dict loads into the reference builder.
  const order = (p: { params: Map<string, number[]>; buffers: Map<string, number[]> }) => [
    ...p.params.keys(),
    ...p.buffers.keys(),
  ];
  const from = order(ours);
  const renamed = new Map(order(tv).map((name, i): [string, HostTensor] => [name, weights.get(from[i])!]));
  const a = await logits(cfg, weights, x);
  const b = await logits(cfg, renamed, x, { naming: "torchvision" });
  assert.equal(maxAbsDiff(a, b), 0);
});

test("step convnext_t has timm's convnext_tiny names and shapes", () => {
  const { params, buffers } = roadmapParamShapes(roadmapConfig("r50", "convnext_t"), "timm");
  assert.equal(buffers.size, 0);
  const timm = paramShapes(makeConfig({ dims: [96, 192, 384, 768], depths: [3, 3, 9, 3] }));
  assert.deepEqual(new Map([...params].sort()), new Map([...timm].sort()));
});

test("step convnext_t with timm names reproduces timm's ConvNeXt on the v1-small weights", async () => {
  const cfg: RoadmapConfig = {
    ...roadmapConfig("r50", "convnext_t"),
    widths: [16, 32, 48, 64],
    stemWidth: 16,
    depths: [1, 1, 2, 1],
    numClasses: 10,
  };
  const weights = readTensors("models", "v1-small", "timm.safetensors");
  const expected = readTensors("models", "v1-small", "expected.safetensors");
  assert.equal(roadmapParamShapes(cfg, "timm").params.size, weights.size);
  assertClose(
    "logits",
    await logits(cfg, weights, expected.get("x")!, { naming: "timm" }),
    expected.get("logits")!,
    1e-5,
  );
});

for (const step of ["resnet50", "fewer_norms"]) {
  test(`BatchNorm folded into the convs of ${step} gives the same inference logits`, async () => {
    const cfg = reduced(roadmapConfig("r50", step), MANIFEST.steps[step]);
    const weights = readTensors("roadmap", step, "params.safetensors");
    const x = readTensors("roadmap", step, "expected.safetensors").get("x")!;
    const folded = foldBatchNorms(cfg, weights);
    const { graph, buffers } = buildRoadmap(cfg, { weights: folded, foldedBatchNorm: true });
    assert.equal(buffers.size, 0);
    assert.ok(!graph.nodes.some((n) => n.op === "BatchNormalization"));
    const a = await logits(cfg, weights, x);
    const b = await logits(cfg, folded, x, { foldedBatchNorm: true });
    assertClose("folded logits", b, a, 1e-5);
    assert.ok(maxAbsDiff(a, b) > 0, "folding should change the arithmetic (the test would be vacuous)");
  });
}

test("wrong weights and impossible namings fail with one clear line", () => {
  const cfg = reduced(roadmapConfig("r50", "resnet50"), MANIFEST.steps.resnet50);
  const weights = readTensors("roadmap", "resnet50", "params.safetensors");
  const missing = new Map(weights);
  missing.delete("stem.1.running_var");
  assert.throws(() => buildRoadmap(cfg, { weights: missing }), /weights lack 'stem\.1\.running_var' \[8\]/);
  const wrong = new Map(weights).set("fc.weight", weights.get("stem.1.weight")!);
  assert.throws(
    () => buildRoadmap(cfg, { weights: wrong }),
    /'fc\.weight' have shape \[8\], the model needs \[5, 256\]/,
  );
  assert.throws(() => buildRoadmap(cfg, { naming: "timm" }), /'timm' parameter names need ConvNeXt blocks/);
  assert.throws(
    () => buildRoadmap(roadmapConfig("r50", "patchify"), { naming: "torchvision" }),
    /'torchvision' parameter names need the ResNet stem/,
  );
  assert.throws(() => buildRoadmap(cfg, { training: true }), /static inputShape/);
  assert.throws(() => roadmapConfig("r50", "kernel13"), /unknown roadmap step 'kernel13'/);
});
