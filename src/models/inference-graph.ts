/**
 * The inference lowering: the forward graph as onnxruntime runs it fastest, from the same builder the
 * training graph uses (which stays untouched). Choices, measured on ConvNeXt-T 224² (bench/inference.ts):
 *  - nodes no requested output needs are dropped (graph/prune.ts): onnxruntime would run them;
 *  - channels-last residual stream (BuildOptions.channelsLast): one Transpose pass per block fewer;
 *  - `precision` (graph/precision.ts): "int8" runs the MLP linear layers as u8 × s8 dynamic-quantized matmuls
 *    (depthwise convs, norms, the patchify / downsample convs and the classifier stay fp32); "fp16" stores
 *    the weights as float16.
 * `msOps` picks onnxruntime's com.microsoft contrib ops where a fused one exists; onnxruntime-web's WASM
 * build lacks some of them, so the browser entry turns it off and gets the standard-ONNX spelling.
 */
import type { Graph } from "../graph/graph.ts";
import { pruneUnused } from "../graph/prune.ts";
import { applyPrecision, type Precision } from "../graph/precision.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import type { ConvNeXtConfig } from "./config.ts";
import { buildConvNeXt, type FeatureName } from "./convnext.ts";

export interface InferenceLowering {
  /** Weight precision (default fp32): fp16 weights, or int8 linear layers. */
  precision?: Precision;
  /** onnxruntime com.microsoft contrib ops (default true; false for onnxruntime-web and other engines). */
  msOps?: boolean;
  /** Channels-last residual stream (default true). */
  channelsLast?: boolean;
}

/** The inference graph with baked weights. */
export function inferenceGraph(
  cfg: ConvNeXtConfig,
  weights: Map<string, HostTensor>,
  outputs: readonly FeatureName[],
  opts: InferenceLowering = {},
): Graph {
  const { graph } = buildConvNeXt(cfg, { weights, outputs, channelsLast: opts.channelsLast ?? true });
  pruneUnused(graph);
  applyPrecision(graph, opts.precision ?? "fp32", { msOps: opts.msOps ?? true });
  return graph;
}
