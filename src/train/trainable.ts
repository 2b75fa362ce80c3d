/**
 * What the training step needs from a model: a forward graph in training mode at a static batch shape, with
 * its logits, its differentiable parameters and any state the step updates (BatchNorm running statistics).
 * ConvNeXt and the paper's roadmap models both provide one.
 */
import type { Graph } from "../graph/graph.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import { buildConvNeXt } from "../models/convnext.ts";

export interface TrainingForward {
  graph: Graph;
  logits: string;
  /** Differentiable parameters (graph inputs): name → shape. */
  params: Map<string, number[]>;
  /** Non-differentiable inputs the step updates: name → the value holding its new contents. */
  stateUpdates?: Map<string, string>;
  /** Drop-path mask inputs with their survival probabilities. */
  dropPath?: { name: string; keep: number }[];
}

/** How the step would like the forward graph laid out; a model may build its own way regardless. */
export interface TrainingLayout {
  /** Channels-last residual stream (ConvNeXt's BuildOptions.channelsLast). */
  channelsLast?: boolean;
}

export interface Trainable {
  numClasses: number;
  /** Stage depths, for layer-wise lr decay with ConvNeXt's layer ids. */
  depths?: number[];
  buildTraining(batchShape: [number, number, number, number], layout?: TrainingLayout): TrainingForward;
}

export function convnextTrainable(cfg: ConvNeXtConfig): Trainable {
  return {
    numClasses: cfg.numClasses,
    depths: cfg.depths,
    buildTraining(batchShape, layout = {}) {
      if (cfg.numClasses <= 0)
        throw new Error("training needs a model with a classifier head (numClasses > 0)");
      const { graph, params, dropPath } = buildConvNeXt(cfg, {
        training: true,
        inputShape: batchShape,
        outputs: ["logits"],
        channelsLast: layout.channelsLast,
      });
      return { graph, logits: "logits", params, dropPath };
    },
  };
}
