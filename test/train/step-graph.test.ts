// One training step of the micro model in fixtures/grad against PyTorch: losses, every gradient, AdamW steps.
import { convnextTrainable } from "../../src/train/trainable.ts";
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { makeConfig } from "../../src/models/config.ts";
import { nchwcBlockSize } from "../../src/train/nchwc-node.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import type { Session } from "../../src/runtime/session.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { smoothedTargets } from "../../src/train/loss.ts";
import { buildTrainStep } from "../../src/train/step-graph.ts";
import { fixture } from "../fixtures.ts";
import { maxAbs, maxAbsDiff, readTensors } from "../helpers.ts";

const cfg = makeConfig({ dims: [8, 16, 24, 32], depths: [1, 1, 1, 1], numClasses: 10 });
const params = readTensors(fixture("grad", "params_init.safetensors"));
const batch = readTensors(fixture("grad", "batch.safetensors"));
const forward = readTensors(fixture("grad", "forward_f32.safetensors"));
const labels = Array.from(batch.get("y")!.data as BigInt64Array, Number);
const sessions = new Map<string, Session>();

before(async () => {
  const shape = batch.get("x")!.dims as [number, number, number, number];
  const block = await nchwcBlockSize();
  const graphs = {
    "": buildTrainStep(convnextTrainable(cfg), shape),
    // Every depthwise conv (8×8 maps down to 1×1) on onnxruntime's NCHWc kernels, as the Node engine runs larger maps.
    ...(block
      ? {
          ", depthwise convs on NCHWc kernels": buildTrainStep(convnextTrainable(cfg), shape, {
            nchwcBlockSize: block,
            denseDepthwiseMaxPixelsPerTap: 0,
          }),
        }
      : {}),
  };
  for (const [variant, step] of Object.entries(graphs)) {
    assert.equal(Buffer.from(step.onnx).includes("com.microsoft.nchwc"), variant !== "");
    sessions.set(variant, await createSession(step.onnx, { threads: 2 }));
  }
});

async function run(session: Session, targets: HostTensor) {
  const feeds: Record<string, HostTensor> = { x: batch.get("x")!, targets };
  for (const [k, v] of params) feeds[k] = v;
  return session.run(feeds);
}

function assertGrads(out: Record<string, HostTensor>, file: string) {
  const expected = readTensors(fixture("grad", file));
  assert.equal(expected.size, params.size);
  for (const [name, ref] of expected) {
    const got = out[`grad.${name}`];
    assert.ok(got, `no gradient for ${name}`);
    // fixtures/README.md: float32 grads abs 1e-5, or 1e-4 relative to the tensor max
    const tol = Math.max(1e-5, 1e-4 * maxAbs(ref));
    const d = maxAbsDiff(got, ref);
    assert.ok(d <= tol, `${name}: max |diff| ${d.toExponential(2)} > ${tol.toExponential(2)}`);
  }
}

const scalarOf = (t: HostTensor) => (t.data as Float32Array)[0];

for (const variant of ["", ", depthwise convs on NCHWc kernels"]) {
  const session = () => {
    const s = sessions.get(variant);
    assert.ok(s, "onnxruntime reports no NCHWc block on this machine");
    return s;
  };

  test(`hard labels with label smoothing 0.1: loss and every gradient${variant}`, async () => {
    const out = await run(session(), smoothedTargets(labels, 10, 0.1));
    assert.ok(Math.abs(scalarOf(out.loss) - scalarOf(forward.get("loss_hard_ls")!)) <= 1e-6);
    assert.ok(maxAbsDiff(out.logits, forward.get("logits")!) <= 1e-5);
    assertGrads(out, "grads_hard_ls_f32.safetensors");
  });

  test(`soft targets (mixup 0.7/0.3): loss and every gradient${variant}`, async () => {
    const out = await run(session(), batch.get("soft_target")!);
    assert.ok(Math.abs(scalarOf(out.loss) - scalarOf(forward.get("loss_soft")!)) <= 1e-6);
    assertGrads(out, "grads_soft_f32.safetensors");
  });

  test(`soft targets with smoothing (timm mixup_target): every gradient${variant}`, async () => {
    const out = await run(session(), batch.get("soft_target_ls")!);
    assertGrads(out, "grads_soft_ls_f32.safetensors");
  });
}
