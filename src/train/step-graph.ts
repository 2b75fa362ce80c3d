/**
 * The training step as one graph: forward (training mode), loss, and the gradient of every parameter,
 * so that one onnxruntime run does all of it. Parameters stay on the host between steps and are fed in.
 * Outputs: `loss` (scalar), `logits`, and `grad.<timm name>` for each parameter.
 */
import { addGradients } from "../autodiff/grad.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import { buildConvNeXt } from "../models/convnext.ts";
import { lowerComposites } from "../ops/index.ts";
import { softTargetCrossEntropy } from "./loss.ts";

export interface TrainStepGraph {
  onnx: Uint8Array;
  params: Map<string, number[]>;
  /** Drop-path mask inputs and their survival probabilities. */
  dropPath: { name: string; keep: number }[];
  batchShape: number[];
}

export function buildTrainStep(
  cfg: ConvNeXtConfig,
  batchShape: [number, number, number, number],
): TrainStepGraph {
  if (cfg.numClasses <= 0) throw new Error("training needs a model with a classifier head (numClasses > 0)");
  const built = buildConvNeXt(cfg, { training: true, inputShape: batchShape, outputs: ["logits"] });
  const { graph: g, params, dropPath } = built;
  const logits = "logits";
  const targets = g.input("targets", "float32", [batchShape[0], cfg.numClasses]);
  const loss = softTargetCrossEntropy(g, logits, targets);
  const grads = addGradients(g, loss, [...params.keys()]);
  g.output(g.op("Identity", [loss], {}, "loss"));
  for (const [p, gp] of grads) g.output(g.op("Identity", [gp], {}, `grad.${p}`));
  lowerComposites(g);
  return { onnx: toOnnxBytes(g), params, dropPath, batchShape };
}
