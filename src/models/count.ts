/**
 * Parameter and multiply-add counts in the paper's convention: MACs of conv and linear layers only (no norms,
 * pooling, activations or bias adds), counted from the graph itself at a static input shape, so any
 * architecture the builders emit is counted the same way.
 */
import type { Graph } from "../graph/graph.ts";
import { numel } from "../tensor/host-tensor.ts";
import type { ConvNeXtConfig } from "./config.ts";
import { buildConvNeXt } from "./convnext.ts";

export function countMacs(g: Graph): number {
  let macs = 0;
  for (const n of g.nodes) {
    if (n.op === "Conv") {
      const w = g.shape(n.inputs[1]);
      macs += numel(g.shape(n.outputs[0])) * numel(w.slice(1));
    } else if (n.op === "MatMul") {
      const a = g.shape(n.inputs[0]);
      macs += numel(g.shape(n.outputs[0])) * a[a.length - 1];
    } else if (n.op === "Gemm") {
      const a = g.shape(n.inputs[0]);
      macs += numel(g.shape(n.outputs[0])) * (n.attrs.transA ? a[0] : a[1]);
    }
  }
  return macs;
}

export function countParams(shapes: Map<string, number[]> | Iterable<number[]>): number {
  const list = shapes instanceof Map ? shapes.values() : shapes;
  let total = 0;
  for (const s of list) total += numel(s);
  return total;
}

/** Multiply-adds of the inference forward pass for one h × w image. */
export function imageMacs(cfg: ConvNeXtConfig, h: number, w = h): number {
  return countMacs(buildConvNeXt(cfg, { inputShape: [1, cfg.inChans, h, w] }).graph);
}
