/**
 * Evaluation of a roadmap model: its inference graph (BatchNorm with running statistics) with parameters and
 * buffers as inputs, so one session serves every evaluation of a run. Feed it the trainer's parameter map,
 * which holds the running statistics beside the weights.
 */
import { buildRoadmap, type RoadmapConfig } from "../models/roadmap.ts";
import type { Session } from "../runtime/session.ts";
import { Evaluator } from "./evaluate.ts";

export function roadmapEvaluator(
  cfg: RoadmapConfig,
  inputShape: [number, number],
  createSession: (onnx: Uint8Array) => Promise<Session>,
): Promise<Evaluator> {
  const { graph } = buildRoadmap(cfg, { inputShape: ["N", cfg.inChans, ...inputShape] });
  return Evaluator.fromGraph(graph, createSession);
}
