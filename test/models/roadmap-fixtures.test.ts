// Every roadmap step at the fixtures' reduced size (README §F) against PyTorch: parameter names and shapes,
// inference logits (running statistics), training-mode logits (batch statistics), the loss, every gradient,
// and the running statistics after one training-mode forward.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addGradients } from "../../src/autodiff/grad.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { countParams } from "../../src/models/count.ts";
import { buildRoadmap, roadmapConfig } from "../../src/models/roadmap.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { smoothedTargets, softTargetCrossEntropy } from "../../src/train/loss.ts";
import { assertClose, MANIFEST, readTensors, reduced } from "./roadmap-helpers.ts";

const session = (g: Parameters<typeof toOnnxBytes>[0]) => createSession(toOnnxBytes(g), { threads: 1 });

for (const [step, fx] of Object.entries(MANIFEST.steps)) {
  test(`roadmap step ${step} matches PyTorch at the reduced size`, async (t) => {
    const cfg = reduced(roadmapConfig("r50", step), fx);
    const weights = readTensors("roadmap", step, "params.safetensors");
    const expected = readTensors("roadmap", step, "expected.safetensors");
    const x = expected.get("x")!;
    const labels = Array.from(expected.get("y")!.data as BigInt64Array, Number);

    await t.test("parameter names, shapes and count", () => {
      const { params, buffers } = buildRoadmap(cfg);
      const ours = new Map([...params, ...buffers]);
      assert.deepEqual([...ours.keys()].sort(), [...weights.keys()].sort());
      for (const [name, dims] of ours) assert.deepEqual(dims, weights.get(name)!.dims, name);
      assert.equal(countParams(params), fx.params);
    });

    await t.test("inference logits (running statistics)", async () => {
      const { graph } = buildRoadmap(cfg, { weights });
      const s = await session(graph);
      const out = await s.run({ x });
      await s.release();
      assertClose("logits_eval", out.logits, expected.get("logits_eval")!, 1e-5);
    });

    await t.test("training mode: logits, loss, gradients, running statistics", async () => {
      const built = buildRoadmap(cfg, { training: true, inputShape: x.dims });
      const g = built.graph;
      const targets = g.input("targets", "float32", [x.dims[0], cfg.numClasses]);
      const loss = softTargetCrossEntropy(g, built.logits, targets);
      const grads = addGradients(g, loss, [...built.params.keys()]);
      g.output(g.op("Identity", [loss], {}, "loss"));
      for (const [p, gp] of grads) g.output(g.op("Identity", [gp], {}, `grad.${p}`));
      const feeds: Record<string, HostTensor> = { x, targets: smoothedTargets(labels, cfg.numClasses) };
      for (const name of [...built.params.keys(), ...built.buffers.keys()]) feeds[name] = weights.get(name)!;
      const s = await session(g);
      const out = await s.run(feeds);
      await s.release();

      assertClose("logits_train", out.logits, expected.get("logits_train")!, 1e-5);
      const lossRef = expected.get("loss_train")!;
      assertClose("loss_train", { ...out.loss, dims: lossRef.dims }, lossRef, 1e-5);
      for (const p of built.params.keys()) {
        assertClose(`grad.${p}`, out[`grad.${p}`], expected.get(`grad.${p}`)!, 1e-5, 1e-4);
      }
      const runningRef = [...expected.keys()].filter((k) => k.startsWith("running."));
      assert.deepEqual([...built.running.values()].sort(), runningRef.sort());
      for (const k of runningRef) assertClose(k, out[k], expected.get(k)!, 1e-5, 1e-6);
    });
  });
}
