// Every roadmap step at the fixtures' reduced size (README §F) against PyTorch: parameter names and shapes,
// inference logits (running statistics), training-mode logits (batch statistics), the loss, every gradient,
// and the running statistics after one training-mode forward.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addGradients } from "../../src/autodiff/grad.ts";
import type { Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { countParams } from "../../src/models/count.ts";
import { buildRoadmap, type RoadmapConfig, roadmapConfig } from "../../src/models/roadmap.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
import { smoothedTargets, softTargetCrossEntropy } from "../../src/train/loss.ts";
import { assertClose, MANIFEST, mismatch, readTensors, reduced } from "./roadmap-helpers.ts";

const session = (g: Graph) => createSession(toOnnxBytes(g), { threads: 1 });

/** A ReLU input so close to 0 that its sign (and so the ReLU's gradient mask) is float32 rounding noise. */
interface Kink {
  relu: number;
  index: number;
  value: number;
}
const KINK = 2e-6;

/**
 * Training step: forward in training mode, cross-entropy on the labels, every gradient. `flips` moves the
 * given ReLU inputs to the other side of 0 (by 2|v|, far below any tolerance) to take PyTorch's side of a
 * rounding tie.
 */
async function trainStep(
  cfg: RoadmapConfig,
  weights: Map<string, HostTensor>,
  x: HostTensor,
  labels: number[],
  flips: Kink[] = [],
) {
  const built = buildRoadmap(cfg, { training: true, inputShape: x.dims });
  const g = built.graph;
  const relus = g.nodes.filter((n) => n.op === "Relu");
  const reluInputs = relus.map((n) => n.inputs[0]);
  for (const k of flips) {
    const relu = relus[k.relu];
    const shape = g.shape(relu.inputs[0]);
    const nudge = float32(shape);
    nudge.data[k.index] = -2 * k.value;
    const moved = g.op("Add", [relu.inputs[0], g.initializer("kink_flip", nudge)]);
    g.nodes.splice(g.nodes.indexOf(relu), 0, g.nodes.pop()!); // keep topological order
    relu.inputs[0] = moved;
  }
  const targets = g.input("targets", "float32", [x.dims[0], cfg.numClasses]);
  const loss = softTargetCrossEntropy(g, built.logits, targets);
  const grads = addGradients(g, loss, [...built.params.keys()]);
  g.output(g.op("Identity", [loss], {}, "loss"));
  for (const [p, gp] of grads) g.output(g.op("Identity", [gp], {}, `grad.${p}`));
  for (const r of reluInputs) g.output(r);
  const feeds: Record<string, HostTensor> = { x, targets: smoothedTargets(labels, cfg.numClasses) };
  for (const name of [...built.params.keys(), ...built.buffers.keys()]) feeds[name] = weights.get(name)!;
  const s = await session(g);
  const out = await s.run(feeds);
  await s.release();
  const kinks: Kink[] = [];
  reluInputs.forEach((r, relu) => {
    (out[r].data as Float32Array).forEach((value, index) => {
      if (Math.abs(value) < KINK) kinks.push({ relu, index, value });
    });
  });
  return { built, out, kinks };
}

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
      const { built, out, kinks } = await trainStep(cfg, weights, x, labels);
      assertClose("logits_train", out.logits, expected.get("logits_train")!, 1e-5);
      const lossRef = expected.get("loss_train")!;
      assertClose("loss_train", { ...out.loss, dims: lossRef.dims }, lossRef, 1e-5);
      const runningRef = [...expected.keys()].filter((k) => k.startsWith("running."));
      assert.deepEqual([...built.running.values()].sort(), runningRef.sort());
      for (const k of runningRef) assertClose(k, out[k], expected.get(k)!, 1e-5, 1e-6);

      const gradMismatches = (o: Record<string, HostTensor>) =>
        [...built.params.keys()]
          .map((p) => mismatch(`grad.${p}`, o[`grad.${p}`], expected.get(`grad.${p}`)!, 1e-5, 1e-4))
          .filter((m) => m !== undefined);
      let failures = gradMismatches(out);
      // NOTE: a ReLU input within float32 noise of 0 may sit on the other side in PyTorch; its gradient then
      // differs by that one element's contribution. Retry with such ties flipped (every subset, few exist).
      if (failures.length > 0 && kinks.length > 0 && kinks.length <= 4) {
        for (let mask = 1; mask < 2 ** kinks.length && failures.length > 0; mask++) {
          const flips = kinks.filter((_, i) => mask & (1 << i));
          const retry = await trainStep(cfg, weights, x, labels, flips);
          if (gradMismatches(retry.out).length === 0) {
            failures = [];
            const where = flips.map((k) => `ReLU #${k.relu} element ${k.index} (${k.value})`).join(", ");
            t.diagnostic(`gradients match once the rounding tie at ${where} takes PyTorch's side`);
          }
        }
      }
      assert.deepEqual(
        failures,
        [],
        `${failures.length} gradients differ; ReLU ties near 0: ${kinks.length}`,
      );
    });
  });
}
