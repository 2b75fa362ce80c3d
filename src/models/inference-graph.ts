/**
 * The inference lowering: the forward graph as onnxruntime runs it fastest, from the same builder the
 * training graph uses (which stays untouched). Choices, measured on ConvNeXt-T 224² (bench/inference.ts):
 *  - nodes no requested output needs are dropped (graph/prune.ts): onnxruntime would run them;
 *  - channels-last residual stream (BuildOptions.channelsLast): one Transpose pass per block fewer;
 *  - `precision: "int8"`: the MLP linear layers as u8 × s8 dynamic-quantized matmuls (graph/quantize-int8.ts);
 *    depthwise convs, norms, the patchify / downsample convs and the classifier stay fp32.
 * `msOps` picks onnxruntime's com.microsoft contrib ops where a fused one exists; onnxruntime-web's WASM
 * build lacks some of them, so the browser entry turns it off and gets the standard-ONNX spelling.
 */
import type { Graph } from "../graph/graph.ts";
import { pruneUnused } from "../graph/prune.ts";
import { quantizeLinearInt8 } from "../graph/quantize-int8.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import type { ConvNeXtConfig } from "./config.ts";
import { buildConvNeXt, type FeatureName } from "./convnext.ts";

export const PRECISIONS = ["fp32", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface InferenceLowering {
  /** Weight precision of the linear layers (default fp32). */
  precision?: Precision;
  /** onnxruntime com.microsoft contrib ops (default true; false for onnxruntime-web and other engines). */
  msOps?: boolean;
  /** Channels-last residual stream (default true). */
  channelsLast?: boolean;
}

/** Checks a `--precision` value. */
export function parsePrecision(p: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(p))
    throw new Error(`--precision ${p} is not supported (${PRECISIONS.join(", ")})`);
  return p as Precision;
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
  if ((opts.precision ?? "fp32") === "int8") quantizeLinearInt8(graph, { msOps: opts.msOps ?? true });
  return graph;
}
