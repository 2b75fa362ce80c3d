/**
 * A ConvNeXt with weights, ready to run on onnxruntime-node: checkpoint → canonical (timm) tensors →
 * validated against the architecture → ONNX graph with the weights as initializers → session.
 */
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { checkFinite, checkParams } from "../checkpoint/validate.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import { type ConvNeXtConfig, checkInputTensor } from "../models/config.ts";
import { checkFeatures, type FeatureName, paramShapes } from "../models/convnext.ts";
import { checkPrecision, type Precision } from "../graph/precision.ts";
import { inferenceGraph } from "../models/inference-graph.ts";
import { modelConfig } from "../models/variants.ts";
import { engineError } from "../runtime/session.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { checkOptionNames } from "../tensor/option-names.ts";
import { BatchSessions } from "./batch-sessions.ts";

export interface LoadOptions {
  /** Architecture name (e.g. convnext_tiny); inferred from the tensors when omitted. */
  model?: string;
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /** Weight precision of the linear layers (default fp32; int8: dynamic quantization). */
  precision?: Precision;
  /** The EMA weights of a training checkpoint. */
  useEma?: boolean;
}

const LOAD_OPTIONS: Record<keyof LoadOptions, true> = {
  model: true,
  threads: true,
  precision: true,
  useEma: true,
};

export class ConvNeXtModel {
  private readonly sessions: BatchSessions;

  /** `source` names the weights in errors (their file, when they came from one). */
  constructor(
    readonly config: ConvNeXtConfig,
    readonly weights: Map<string, HostTensor>,
    readonly threads?: number,
    private readonly source = "weights",
    readonly precision: Precision = "fp32",
  ) {
    checkPrecision(precision);
    checkParams(paramShapes(config), weights, source);
    checkFinite(weights, source);
    let weightBytes = 0;
    for (const t of weights.values()) weightBytes += t.data.byteLength;
    this.sessions = new BatchSessions(config, weightBytes, threads, true, precision === "int8");
  }

  /** Loads any supported checkpoint (safetensors, .pth, HF folder; official/timm/torchvision/HF names). */
  static async load(path: string, opts: LoadOptions = {}): Promise<ConvNeXtModel> {
    checkOptionNames(opts, LOAD_OPTIONS, "ConvNeXtModel.load");
    const ckpt = await loadCheckpointFile(path, { useEma: opts.useEma });
    let config = ckpt.config;
    if (opts.model) {
      const named = modelConfig(opts.model, {
        numClasses: config.numClasses,
        normEps: config.normEps,
        headNormEps: config.headNormEps,
        inChans: config.inChans,
      });
      checkParams(paramShapes(named), ckpt.tensors, ckpt.source);
      config = named;
    }
    return new ConvNeXtModel(config, ckpt.tensors, opts.threads, ckpt.source, opts.precision);
  }

  /** The inference graph with weights baked in, as ONNX bytes (any ONNX engine can run it). */
  toOnnx(outputs: readonly FeatureName[] = ["logits"]): Uint8Array {
    return toOnnxBytes(inferenceGraph(this.config, this.weights, outputs, { precision: this.precision }));
  }

  /**
   * Runs x (N, C, H, W float32) and returns the requested outputs by name. A batch runs a few images at a
   * time: with several threads, when it holds enough work, on one single-thread worker session per thread
   * (ConvNeXt-T 224² batch 32 on 2 threads: 1.37x cheaper per image than batch 1; on 1 thread, 1.25x cheaper
   * than the whole batch at once: docs/inference/README.md).
   */
  async forward(
    x: HostTensor,
    outputs: readonly FeatureName[] = ["logits"],
  ): Promise<Record<string, HostTensor>> {
    checkInputTensor(this.config, x);
    checkFeatures(outputs, this.config);
    const [batch, , h, w] = x.dims;
    try {
      const session = this.sessions.get(outputs.join(","), () => this.toOnnx(outputs), batch, h, w);
      return await (await session).run({ x });
    } catch (e) {
      throw engineError(e, this.source, "the model");
    }
  }

  async release(): Promise<void> {
    await this.sessions.release();
  }
}
