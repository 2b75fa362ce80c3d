/**
 * A ConvNeXt with weights, ready to run on onnxruntime-node: checkpoint → canonical (timm) tensors →
 * validated against the architecture → ONNX graph with the weights as initializers → session.
 */
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { checkParams } from "../checkpoint/validate.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import { type ConvNeXtConfig, checkInputDims } from "../models/config.ts";
import { type FeatureName, paramShapes } from "../models/convnext.ts";
import type { Precision } from "../graph/precision.ts";
import { inferenceGraph } from "../models/inference-graph.ts";
import { modelConfig } from "../models/variants.ts";
import { engineError, type Session } from "../runtime/session.ts";
import { createSession } from "../runtime/session-node.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";

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

export class ConvNeXtModel {
  private readonly sessions = new Map<string, Promise<Session>>();

  /** `source` names the weights in errors (their file, when they came from one). */
  constructor(
    readonly config: ConvNeXtConfig,
    readonly weights: Map<string, HostTensor>,
    readonly threads?: number,
    private readonly source = "weights",
    readonly precision: Precision = "fp32",
  ) {
    checkParams(paramShapes(config), weights, source);
  }

  /** Loads any supported checkpoint (safetensors, .pth, HF folder; official/timm/torchvision/HF names). */
  static async load(path: string, opts: LoadOptions = {}): Promise<ConvNeXtModel> {
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

  private session(outputs: readonly FeatureName[]): Promise<Session> {
    const key = outputs.join(",");
    let s = this.sessions.get(key);
    if (!s) {
      s = createSession(this.toOnnx(outputs), { threads: this.threads });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Runs x (N, C, H, W float32) and returns the requested outputs by name. */
  async forward(
    x: HostTensor,
    outputs: readonly FeatureName[] = ["logits"],
  ): Promise<Record<string, HostTensor>> {
    checkInputDims(this.config, x.dims);
    try {
      return await (await this.session(outputs)).run({ x });
    } catch (e) {
      throw engineError(e, this.source, "the model");
    }
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
