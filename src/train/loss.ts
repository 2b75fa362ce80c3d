/**
 * Softmax cross-entropy with soft targets, composed from primitives (its gradient comes free):
 *   loss = mean_n Σ_c −t[n,c]·log_softmax(z)[n,c].
 * Hard labels with label smoothing ε are the soft targets t = (1−ε)·onehot + ε/K (= torch's label_smoothing).
 */
import type { Graph } from "../graph/graph.ts";
import { scalar } from "../ops/types.ts";
import { float32 } from "../tensor/host-tensor.ts";

export function softTargetCrossEntropy(g: Graph, logits: string, targets: string): string {
  const [n] = g.shape(logits);
  const logp = g.op("LogSoftmax", [logits], { axis: -1 });
  const total = g.op("ReduceSum", [g.op("Mul", [targets, logp])], { keepdims: 0 });
  return g.op("Mul", [total, scalar(g, -1 / n)], {}, "loss_value");
}

/** One-hot targets with label smoothing, as float32 [N, K]. */
export function smoothedTargets(labels: ArrayLike<number>, numClasses: number, smoothing = 0) {
  const t = float32([labels.length, numClasses]);
  const off = smoothing / numClasses;
  t.data.fill(off);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new Error(`label ${y} is outside 0..${numClasses - 1}`);
    t.data[i * numClasses + y] = 1 - smoothing + off;
  }
  return t;
}
