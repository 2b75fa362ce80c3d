// One training step of the micro model in fixtures/grad against PyTorch: losses, every gradient, AdamW steps.
// Also as the Node engine builds it (NCHWc depthwise convs; on 2 threads, large weight gradients in row ranges, for
// which the fixture's batch is tiled 32×: the loss and gradients of a mean over copies are the fixture's).
import { convnextTrainable } from "../../src/train/trainable.ts";
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { makeConfig } from "../../src/models/config.ts";
import { nchwcBlockSize } from "../../src/train/nchwc-node.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import type { Session } from "../../src/runtime/session.ts";
import { float32, type HostTensor } from "../../src/tensor/host-tensor.ts";
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
const NCHWC = ", depthwise convs on NCHWc kernels";
const ROW_RANGES = ", 2 threads, weight gradients in row ranges";
/** How many copies of the fixture's batch each variant's graph takes. */
const TILES: Record<string, number> = { [ROW_RANGES]: 32 };

before(async () => {
  const shape = batch.get("x")!.dims as [number, number, number, number];
  const block = await nchwcBlockSize();
  const graphs = {
    "": buildTrainStep(convnextTrainable(cfg), shape),
    // Every depthwise conv (8×8 maps down to 1×1) on onnxruntime's NCHWc kernels, as the Node engine runs larger maps.
    ...(block
      ? {
          [NCHWC]: buildTrainStep(convnextTrainable(cfg), shape, {
            nchwcBlockSize: block,
            denseDepthwiseMaxPixelsPerTap: 0,
          }),
        }
      : {}),
    // 128 images of 32²: the stem's and stage 0's weight gradients have 8192 rows, two ranges of 4096.
    [ROW_RANGES]: buildTrainStep(
      convnextTrainable(cfg),
      [shape[0] * TILES[ROW_RANGES], ...shape.slice(1)] as typeof shape,
      { sessionThreads: 2 },
    ),
  };
  for (const [variant, step] of Object.entries(graphs)) {
    const bytes = Buffer.from(step.onnx);
    assert.equal(bytes.includes("com.microsoft.nchwc"), variant === NCHWC);
    assert.equal(bytes.includes("weight_grad_row_ranges"), variant === ROW_RANGES);
    sessions.set(variant, await createSession(step.onnx, { threads: 2 }));
  }
});

/** `times` copies of a batch along its first axis. */
function tiled(t: HostTensor, times: number): HostTensor {
  const src = t.data as Float32Array;
  const data = new Float32Array(src.length * times);
  for (let i = 0; i < times; i++) data.set(src, i * src.length);
  return float32([t.dims[0] * times, ...t.dims.slice(1)], data);
}

async function run(variant: string, targets: HostTensor) {
  const times = TILES[variant] ?? 1;
  const session = sessions.get(variant);
  assert.ok(session, "onnxruntime reports no NCHWc block on this machine");
  const feeds: Record<string, HostTensor> = {
    x: tiled(batch.get("x")!, times),
    targets: tiled(targets, times),
  };
  for (const [k, v] of params) feeds[k] = v;
  const out = await session.run(feeds);
  // The first copy's logits.
  const logits = out.logits.data as Float32Array;
  const first: Record<string, HostTensor> = { ...out };
  first.logits = float32([labels.length, 10], logits.slice(0, labels.length * 10));
  return first;
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

for (const variant of ["", NCHWC, ROW_RANGES]) {
  test(`hard labels with label smoothing 0.1: loss and every gradient${variant}`, async () => {
    const out = await run(variant, smoothedTargets(labels, 10, 0.1));
    assert.ok(Math.abs(scalarOf(out.loss) - scalarOf(forward.get("loss_hard_ls")!)) <= 1e-6);
    assert.ok(maxAbsDiff(out.logits, forward.get("logits")!) <= 1e-5);
    assertGrads(out, "grads_hard_ls_f32.safetensors");
  });

  test(`soft targets (mixup 0.7/0.3): loss and every gradient${variant}`, async () => {
    const out = await run(variant, batch.get("soft_target")!);
    assert.ok(Math.abs(scalarOf(out.loss) - scalarOf(forward.get("loss_soft")!)) <= 1e-6);
    assertGrads(out, "grads_soft_f32.safetensors");
  });

  test(`soft targets with smoothing (timm mixup_target): every gradient${variant}`, async () => {
    const out = await run(variant, batch.get("soft_target_ls")!);
    assertGrads(out, "grads_soft_ls_f32.safetensors");
  });
}
