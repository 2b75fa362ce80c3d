/**
 * Top-1 / top-5 accuracy and mean cross-entropy of a model on a loader's batches. The inference graph takes
 * the parameters as inputs, so one session serves every evaluation of a training run (and the EMA weights).
 */
import type { Graph } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import type { ConvNeXtConfig } from "../models/config.ts";
import { buildConvNeXt } from "../models/convnext.ts";
import type { Session } from "../runtime/session.ts";
import { float32, type HostTensor } from "../tensor/host-tensor.ts";

export interface EvalResult {
  top1: number;
  top5: number;
  n: number;
  loss: number;
}

export interface EvalBatch {
  x: Float32Array;
  dims: [number, number, number, number];
  labels: ArrayLike<number>;
}

export class Evaluator {
  private constructor(private readonly session: Session) {}

  static async create(
    cfg: ConvNeXtConfig,
    inputShape: [number, number],
    createSession: (onnx: Uint8Array) => Promise<Session>,
  ): Promise<Evaluator> {
    const { graph } = buildConvNeXt(cfg, { inputShape: ["N", cfg.inChans, ...inputShape] });
    return Evaluator.fromGraph(graph, createSession);
  }

  /** Any inference graph with input `x`, output `logits` and its weights (and buffers) as inputs. */
  static async fromGraph(
    graph: Graph,
    createSession: (onnx: Uint8Array) => Promise<Session>,
  ): Promise<Evaluator> {
    return new Evaluator(await createSession(toOnnxBytes(graph)));
  }

  async logits(params: ReadonlyMap<string, HostTensor>, batch: EvalBatch): Promise<Float32Array> {
    const feeds: Record<string, HostTensor> = { x: float32(batch.dims, batch.x) };
    for (const [k, v] of params) feeds[k] = v;
    return (await this.session.run(feeds)).logits.data as Float32Array;
  }

  async evaluate(
    params: ReadonlyMap<string, HostTensor>,
    batches: AsyncIterable<EvalBatch>,
  ): Promise<EvalResult> {
    let n = 0;
    let top1 = 0;
    let top5 = 0;
    let loss = 0;
    for await (const b of batches) {
      const logits = await this.logits(params, b);
      const k = logits.length / b.dims[0];
      for (let i = 0; i < b.dims[0]; i++) {
        const row = logits.subarray(i * k, (i + 1) * k);
        const y = b.labels[i];
        // A row with NaN would compare false everywhere and rank first: count it wrong.
        const rank = row.some(Number.isNaN)
          ? k
          : row.reduce((r, v, j) => r + (v > row[y] || (v === row[y] && j < y) ? 1 : 0), 0);
        if (rank === 0) top1++;
        if (rank < 5) top5++;
        const max = row.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
        const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
        loss += lse - row[y];
      }
      n += b.dims[0];
    }
    return { top1: n ? top1 / n : 0, top5: n ? top5 / n : 0, n, loss: n ? loss / n : 0 };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
