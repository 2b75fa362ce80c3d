/**
 * The training step as one graph: forward (training mode), loss, and the gradient of every parameter,
 * so that one onnxruntime run does all of it. Parameters stay on the host between steps and are fed in.
 * Outputs: `loss` (scalar), `logits`, `grad.<name>` for each parameter and `state.<name>` for each updated
 * state input (BatchNorm running statistics).
 */
import { addGradients } from "../autodiff/grad.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import {
  DENSE_DEPTHWISE_MAX_PIXELS_BESIDE_NCHWC,
  DENSE_DEPTHWISE_MAX_PIXELS_PER_TAP,
  depthwiseConvsAsMatMul,
} from "../ops/depthwise-matmul.ts";
import { depthwiseConvsAsNchwc } from "../ops/depthwise-nchwc.ts";
import { lowerComposites } from "../ops/index.ts";
import { patchifyConvsAsGemm } from "../ops/patchify-gemm.ts";
import { weightGradientsSplitOverRows } from "../ops/weight-grad-split.ts";
import { softTargetCrossEntropy } from "./loss.ts";
import type { Trainable } from "./trainable.ts";

export interface TrainStepGraph {
  onnx: Uint8Array;
  params: Map<string, number[]>;
  /** Names of the state inputs that come back updated as `state.<name>`. */
  state: string[];
  /** Drop-path mask inputs and their survival probabilities. */
  dropPath: { name: string; keep: number }[];
  batchShape: number[];
}

export interface TrainStepOptions {
  /** Stem and downsample convs as patches × weight Gemms (ops/patchify-gemm.ts); default on. */
  patchifyAsGemm?: boolean;
  /** Depthwise convs on maps of at most this many pixels per kernel tap run as one MatMul (ops/depthwise-matmul.ts); 0: never. */
  denseDepthwiseMaxPixelsPerTap?: number;
  /**
   * onnxruntime's NCHWc channel block on the machine that will run the step (train/nchwc-node.ts): depthwise
   * convs and their input gradients then run on its NCHWc kernels (ops/depthwise-nchwc.ts), and a ConvNeXt's
   * residual stream stays channels-last. Absent: plain Conv on NCHW, which every engine runs.
   */
  nchwcBlockSize?: number;
  /**
   * The threads of the session that will run the step: with more than one, weight gradients over many rows
   * are taken as that many row ranges the threads work on apart (ops/weight-grad-split.ts). Default 1.
   */
  sessionThreads?: number;
}

export function buildTrainStep(
  model: Trainable,
  batchShape: [number, number, number, number],
  opts: TrainStepOptions = {},
): TrainStepGraph {
  // Channels-last between blocks pays where the depthwise convs' NCHWc reorders read and write it directly.
  const fwd = model.buildTraining(batchShape, { channelsLast: !!opts.nchwcBlockSize });
  const g = fwd.graph;
  depthwiseConvsAsMatMul(
    g,
    opts.denseDepthwiseMaxPixelsPerTap ?? DENSE_DEPTHWISE_MAX_PIXELS_PER_TAP,
    opts.nchwcBlockSize ? DENSE_DEPTHWISE_MAX_PIXELS_BESIDE_NCHWC : undefined,
  );
  if (opts.patchifyAsGemm ?? true) patchifyConvsAsGemm(g);
  const targets = g.input("targets", "float32", [batchShape[0], model.numClasses]);
  const loss = softTargetCrossEntropy(g, fwd.logits, targets);
  const grads = addGradients(g, loss, [...fwd.params.keys()]);
  g.output(g.op("Identity", [loss], {}, "loss"));
  if (!g.outputs.some((o) => o.name === fwd.logits)) g.output(fwd.logits);
  for (const [p, gp] of grads) g.output(g.op("Identity", [gp], {}, `grad.${p}`));
  for (const [s, v] of fwd.stateUpdates ?? []) g.output(g.op("Identity", [v], {}, `state.${s}`));
  lowerComposites(g);
  if (opts.nchwcBlockSize) depthwiseConvsAsNchwc(g, opts.nchwcBlockSize);
  weightGradientsSplitOverRows(g, opts.sessionThreads ?? 1);
  return {
    onnx: toOnnxBytes(g),
    params: fwd.params,
    state: [...(fwd.stateUpdates?.keys() ?? [])],
    dropPath: fwd.dropPath ?? [],
    batchShape,
  };
}
