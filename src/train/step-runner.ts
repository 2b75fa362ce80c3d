/**
 * Runs training steps: parameters live on the host (Float32Arrays, timm names); each step feeds them with the
 * batch to the one-graph forward+backward session, then AdamW updates them in place on the host.
 * NOTE: the update runs in TypeScript, not in the graph: at these sizes it costs a few percent of a step
 * (bench/train-throughput.ts measures both), and it keeps optimizer state, EMA and checkpoints host-side.
 */
import type { Session } from "../runtime/session.ts";
import type { Float32Tensor, HostTensor } from "../tensor/host-tensor.ts";
import { float32 } from "../tensor/host-tensor.ts";
import { AdamW, type AdamWConfig } from "./adamw.ts";
import type { Rng } from "./rng.ts";
import { buildTrainStep, type TrainStepGraph } from "./step-graph.ts";
import type { Trainable } from "./trainable.ts";

export interface StepResult {
  loss: number;
  logits: Float32Tensor;
  grads: Map<string, Float32Array>;
}

export class StepRunner {
  readonly optimizer: AdamW;

  private constructor(
    readonly model: Trainable,
    readonly params: Map<string, Float32Tensor>,
    private readonly graph: TrainStepGraph,
    private readonly session: Session,
    adamw: AdamWConfig & { lrScales?: Map<string, number> },
  ) {
    this.optimizer = new AdamW(
      [...graph.params.keys()].map((name) => {
        const p = params.get(name);
        if (!p) throw new Error(`parameters lack '${name}'`);
        return { name, data: p.data, dims: p.dims, lrScale: adamw.lrScales?.get(name) };
      }),
      adamw,
    );
  }

  static async create(
    model: Trainable,
    params: Map<string, Float32Tensor>,
    batchShape: [number, number, number, number],
    createSession: (onnx: Uint8Array) => Promise<Session>,
    adamw: AdamWConfig & { lrScales?: Map<string, number> } = {},
  ): Promise<StepRunner> {
    const graph = buildTrainStep(model, batchShape);
    return new StepRunner(model, params, graph, await createSession(graph.onnx), adamw);
  }

  get batchShape(): number[] {
    return this.graph.batchShape;
  }

  /** Forward + backward on one batch; `rng` draws the drop-path masks (needed when dropPathRate > 0). */
  async gradients(x: HostTensor, targets: Float32Tensor, rng?: Rng): Promise<StepResult> {
    const feeds: Record<string, HostTensor> = { x, targets };
    for (const name of [...this.graph.params.keys(), ...this.graph.state]) {
      const p = this.params.get(name);
      if (!p) throw new Error(`parameters lack '${name}'`);
      feeds[name] = p;
    }
    const n = this.graph.batchShape[0];
    for (const { name, keep } of this.graph.dropPath) {
      if (!rng) throw new Error("drop path needs a random generator");
      feeds[name] = float32(
        [n, 1, 1, 1],
        Float32Array.from({ length: n }, () => (rng.uniform() < keep ? 1 / keep : 0)),
      );
    }
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const name of this.graph.params.keys()) grads.set(name, out[`grad.${name}`].data as Float32Array);
    // Running statistics move with every forward pass in training mode, whatever the optimizer does.
    for (const name of this.graph.state)
      this.params.get(name)!.data.set(out[`state.${name}`].data as Float32Array);
    return { loss: (out.loss.data as Float32Array)[0], logits: out.logits as Float32Tensor, grads };
  }

  /** One optimizer step: gradients, then AdamW at learning rate `lr`. */
  async step(x: HostTensor, targets: Float32Tensor, lr: number, rng?: Rng): Promise<StepResult> {
    const r = await this.gradients(x, targets, rng);
    this.optimizer.step(r.grads, lr);
    return r;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
