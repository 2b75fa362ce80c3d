/**
 * Where should the AdamW update run: on the host (TypeScript, in place; on one thread, or half of it on a worker
 * thread as training on Node runs it) or inside the step graph (ONNX elementwise ops, parameters and moments fed
 * in and fetched back each step)? This times the update alone for several models' parameter sets, each way; the
 * graph's time includes writing its results back into the host arrays, which host-side state (checkpoints, EMA)
 * needs.
 */
import { Graph } from "../src/graph/graph.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { paramShapes } from "../src/models/convnext.ts";
import { modelConfig } from "../src/models/variants.ts";
import "../src/ops/index.ts";
import { scalar } from "../src/ops/types.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32, type HostTensor, numel } from "../src/tensor/host-tensor.ts";
import { AdamW } from "../src/train/adamw.ts";
import { AdamWThread } from "../src/train/adamw-thread-node.ts";
import { compareAllMs, fmt } from "./stats.ts";

/** p ← p·(1−lr·wd) − lr/(1−β1ᵗ) · m/(√v/√(1−β2ᵗ) + ε), with the step's scalars folded into constants. */
function adamwGraph(shapes: Map<string, number[]>): Graph {
  const g = new Graph("adamw");
  const [b1, b2, lr, wd, eps, t] = [0.9, 0.999, 1e-3, 0.05, 1e-8, 1];
  for (const [name, shape] of shapes) {
    // Flat: onnxruntime ran this graph 3x faster on 1-D tensors than on the parameters' own shapes (atto: 159 -> 49 ms).
    const dims = [numel(shape)];
    const p = g.input(name, "float32", dims);
    const gr = g.input(`grad.${name}`, "float32", dims);
    const m = g.input(`m.${name}`, "float32", dims);
    const v = g.input(`v.${name}`, "float32", dims);
    const m2 = g.op("Add", [g.op("Mul", [m, scalar(g, b1)]), g.op("Mul", [gr, scalar(g, 1 - b1)])]);
    const v2 = g.op("Add", [
      g.op("Mul", [v, scalar(g, b2)]),
      g.op("Mul", [g.op("Mul", [gr, gr]), scalar(g, 1 - b2)]),
    ]);
    const denom = g.op("Add", [
      g.op("Mul", [g.op("Sqrt", [v2]), scalar(g, 1 / Math.sqrt(1 - b2 ** t))]),
      scalar(g, eps),
    ]);
    const upd = g.op("Mul", [g.op("Div", [m2, denom]), scalar(g, lr / (1 - b1 ** t))]);
    const decayed = shape.length > 1 ? g.op("Mul", [p, scalar(g, 1 - lr * wd)]) : p;
    g.output(g.op("Sub", [decayed, upd], {}, `new.${name}`));
    g.output(g.op("Identity", [m2], {}, `newm.${name}`));
    g.output(g.op("Identity", [v2], {}, `newv.${name}`));
  }
  return g;
}

export async function benchAdamwPlacement(repeats = 7): Promise<string[]> {
  const lines = [`AdamW update alone, ms per step (median of ${repeats}), 2 threads for the graph`];
  lines.push("model           params   host (TS)  host, 2 threads  in-graph (ORT)  graph speed-up");
  for (const name of ["convnext_atto", "convnext_pico", "convnext_nano", "convnext_tiny"]) {
    const shapes = paramShapes(modelConfig(name));
    const rand = (dims: number[]) =>
      float32(
        dims,
        Float32Array.from({ length: numel(dims) }, () => Math.random() - 0.5),
      );
    const params = new Map([...shapes].map(([k, d]) => [k, rand(d)]));
    const grads = new Map([...shapes].map(([k, d]) => [k, rand(d).data]));
    const host = new AdamW([...params].map(([k, p]) => ({ name: k, data: p.data, dims: p.dims })));
    const shared = new Map(
      [...params].map(([k, p]) => {
        const data = new Float32Array(new SharedArrayBuffer(p.data.byteLength));
        data.set(p.data);
        return [k, data];
      }),
    );
    const split = new AdamW(
      [...shapes].map(([k, d]) => ({ name: k, data: shared.get(k)!, dims: d })),
      {},
      { shared: true },
    );
    const helper = AdamWThread.start(split.sharedArrays());
    const session = await createSession(toOnnxBytes(adamwGraph(shapes)), { threads: 2, spinning: false });
    const feeds: Record<string, HostTensor> = {};
    for (const [k, shape] of shapes) {
      const d = [numel(shape)];
      feeds[k] = float32(d, Float32Array.from(params.get(k)!.data)); // its own copy: the host updates params
      feeds[`grad.${k}`] = float32(d, grads.get(k)!);
      feeds[`m.${k}`] = rand(d);
      feeds[`v.${k}`] = float32(d, rand(d).data.map(Math.abs));
    }
    const inGraph = async () => {
      const out = await session.run(feeds);
      for (const k of shapes.keys()) {
        (feeds[k].data as Float32Array).set(out[`new.${k}`].data as Float32Array);
        (feeds[`m.${k}`].data as Float32Array).set(out[`newm.${k}`].data as Float32Array);
        (feeds[`v.${k}`].data as Float32Array).set(out[`newv.${k}`].data as Float32Array);
      }
    };
    const [th, t2, tg] = await compareAllMs(
      [async () => host.step(grads, 1e-3), () => split.stepWithHelper(grads, 1e-3, helper), inGraph],
      repeats,
    );
    const total = [...shapes.values()].reduce((s, d) => s + numel(d), 0);
    lines.push(
      `${name.padEnd(15)} ${(total / 1e6).toFixed(1).padStart(5)}M ${fmt(th.median).padStart(10)} ${fmt(t2.median).padStart(16)} ${fmt(tg.median).padStart(15)} ${`${(th.median / tg.median).toFixed(2)}x`.padStart(15)}`,
    );
    await session.release();
    await helper.release();
  }
  return lines;
}
