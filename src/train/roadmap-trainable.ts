/**
 * The paper's roadmap models (models/roadmap.ts) as a Trainable: the training-mode forward at a static batch
 * shape, whose BatchNorm running statistics come back as state updates the step runner stores after each step.
 * Parameters and buffers keep the builder's default ("roadmap") names.
 */
import { buildRoadmap, type RoadmapConfig } from "../models/roadmap.ts";
import type { Trainable } from "./trainable.ts";

export function roadmapTrainable(cfg: RoadmapConfig): Trainable {
  return {
    numClasses: cfg.numClasses,
    buildTraining(batchShape) {
      const { graph, params, logits, running } = buildRoadmap(cfg, {
        training: true,
        inputShape: batchShape,
      });
      return { graph, logits, params, stateUpdates: running };
    },
  };
}

export interface RoadmapScale {
  /** Multiplies every stage width and the stem width (rounded, at least 1). */
  widthScale: number;
  /** Multiplies every stage depth (rounded, at least 1), keeping the stage ratio's shape. */
  depthScale: number;
  inChans: number;
  numClasses: number;
}

/**
 * A roadmap configuration shrunk for small images and short runs. Only sizes change; every design decision of
 * the step stays, so the steps still differ from each other exactly as in the paper.
 */
export function scaleRoadmapConfig(cfg: RoadmapConfig, s: RoadmapScale): RoadmapConfig {
  for (const [k, v] of [
    ["widthScale", s.widthScale],
    ["depthScale", s.depthScale],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${k} must be a positive number, got ${v}`);
  }
  const scale = (v: number, by: number) => Math.max(1, Math.round(v * by));
  return {
    ...cfg,
    widths: cfg.widths.map((w) => scale(w, s.widthScale)),
    stemWidth: scale(cfg.stemWidth, s.widthScale),
    depths: cfg.depths.map((d) => scale(d, s.depthScale)),
    inChans: s.inChans,
    numClasses: s.numClasses,
  };
}
