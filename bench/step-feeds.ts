/** Random feeds for a training-step graph (bench/compare-step-graphs.ts, bench/step-profile.ts). */
import type { ConvNeXtConfig } from "../src/models/config.ts";
import { float32, type HostTensor } from "../src/tensor/host-tensor.ts";
import type { Rng } from "../src/train/rng.ts";
import type { TrainStepGraph } from "../src/train/step-graph.ts";

/** Images ~N(0, 1), weights ~N(0, 0.1²) (norm weights and γ around 1), smoothed one-hot targets, drop-path masks. */
export function randomStepFeeds(
  step: TrainStepGraph,
  cfg: ConvNeXtConfig,
  rng: Rng,
): Record<string, HostTensor> {
  const shape = step.batchShape;
  const draw = (dims: number[], scale: number, offset = 0) =>
    float32(
      dims,
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => offset + scale * rng.normal()),
    );
  const feeds: Record<string, HostTensor> = { x: draw(shape, 1) };
  for (const [name, dims] of step.params) {
    const oneD = dims.length === 1 && (name.endsWith(".weight") || name.endsWith("gamma"));
    feeds[name] = oneD ? draw(dims, 0.1, 1) : draw(dims, 0.1);
  }
  const targets = new Float32Array(shape[0] * cfg.numClasses).fill(0.1 / cfg.numClasses);
  for (let i = 0; i < shape[0]; i++) targets[i * cfg.numClasses + (i % cfg.numClasses)] += 0.9;
  feeds.targets = float32([shape[0], cfg.numClasses], targets);
  for (const { name, keep } of step.dropPath) {
    feeds[name] = float32(
      [shape[0], 1, 1, 1],
      Float32Array.from({ length: shape[0] }, () => (rng.uniform() < keep ? 1 / keep : 0)),
    );
  }
  return feeds;
}
