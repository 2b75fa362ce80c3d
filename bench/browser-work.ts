/**
 * The work the browser benchmark times, the same code on either engine: one image through the classifier graph
 * (batch 1), and fine-tuning steps of every layer (the training-step graph plus AdamW on the host).
 */
import { FineTuner } from "../src/api/fine-tuner.ts";
import { TIMM_DEFAULT_PREPROCESS } from "../src/api/image-preprocess.ts";
import { readCheckpointBytes } from "../src/checkpoint/read-bytes.ts";
import { serializeSafetensors } from "../src/checkpoint/safetensors.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { buildConvNeXt } from "../src/models/convnext.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import type { RunnableSession } from "../src/runtime/session.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";

export interface BrowserBenchCase {
  name: string;
  /** Checkpoint bytes, or undefined for convnext_atto with random weights. */
  weights?: Uint8Array;
  size: number;
  trainBatch: number;
  runs: number;
  steps: number;
}

export interface BrowserBenchResult {
  name: string;
  inferMs: number;
  stepMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function measure(
  c: BrowserBenchCase,
  session: (onnx: Uint8Array) => Promise<RunnableSession>,
): Promise<BrowserBenchResult> {
  const rng = new Rng(0);
  const weights =
    c.weights ?? serializeSafetensors(initParams(modelConfig("convnext_atto"), () => rng.normal()));
  const { config, tensors } = readCheckpointBytes(weights);
  const s = await session(toOnnxBytes(buildConvNeXt(config, { weights: tensors }).graph));
  const x = float32(
    [1, config.inChans, c.size, c.size],
    Float32Array.from({ length: config.inChans * c.size ** 2 }, () => rng.normal()),
  );
  await s.run({ x });
  const infer: number[] = [];
  for (let i = 0; i < c.runs; i++) {
    const t = performance.now();
    await s.run({ x });
    infer.push(performance.now() - t);
  }
  await s.release();

  const preprocess = {
    config: { ...TIMM_DEFAULT_PREPROCESS, inputSize: c.size, cropPct: 1 },
    channels: config.inChans as 1 | 3,
  };
  const tuner = new FineTuner(
    { config, tensors, preprocess },
    { classes: ["a", "b"], train: "all", batchSize: c.trainBatch },
    session,
  );
  const image = {
    data: Uint8Array.from({ length: c.size * c.size * 3 }, () => rng.int(256)),
    width: c.size,
    height: c.size,
  };
  tuner.addImages(
    Array(c.trainBatch).fill(image),
    Array.from({ length: c.trainBatch }, (_, i) => i % 2),
  );
  await tuner.step();
  const steps: number[] = [];
  for (let i = 0; i < c.steps; i++) {
    const t = performance.now();
    await tuner.step();
    steps.push(performance.now() - t);
  }
  await tuner.release();
  return { name: c.name, inferMs: median(infer), stepMs: median(steps) };
}
