/**
 * Training throughput (forward + backward + AdamW, one onnxruntime run per step plus the host update):
 * convnext_atto at 128² batch 32 and convnext_tiny at 224² batch 16 on 2 threads.
 * Reference on this machine (PyTorch 2.13 CPU, 2 threads): about 45 and 1.7 img/s.
 */
import { convnextTrainable } from "../src/train/trainable.ts";
import { modelConfig } from "../src/models/variants.ts";
import { initParams } from "../src/models/init.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { smoothedTargets } from "../src/train/loss.ts";
import { Rng } from "../src/train/rng.ts";
import { StepRunner } from "../src/train/step-runner.ts";
import { medianMs } from "./stats.ts";

const CASES = [
  { model: "convnext_atto", resolution: 128, batch: 32, pytorch: 45 },
  { model: "convnext_tiny", resolution: 224, batch: 16, pytorch: 1.7 },
];

export async function benchTraining(repeats = 5, only?: string): Promise<string[]> {
  const lines = [`Training step (fwd + bwd + AdamW), 2 threads, median of ${repeats}`];
  lines.push("model          res batch   ms/step  img/s  (PyTorch here: img/s, ratio)  peak RSS");
  for (const c of CASES) {
    if (only && c.model !== only) continue;
    const cfg = modelConfig(c.model, { dropPathRate: 0.1 });
    const rng = new Rng(1);
    const params = initParams(cfg, () => rng.normal());
    const shape: [number, number, number, number] = [c.batch, 3, c.resolution, c.resolution];
    const runner = await StepRunner.create(convnextTrainable(cfg), params, shape, (b) =>
      createSession(b, { threads: 2 }),
    );
    const x = float32(
      shape,
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
    );
    const t = smoothedTargets(
      Array.from({ length: c.batch }, (_, i) => i % cfg.numClasses),
      cfg.numClasses,
      0.1,
    );
    const timing = await medianMs(() => runner.step(x, t, 1e-4, rng), repeats, 1);
    const ips = (c.batch * 1000) / timing.median;
    const rss = process.memoryUsage().rss / 2 ** 20;
    lines.push(
      `${c.model.padEnd(14)} ${String(c.resolution).padStart(3)} ${String(c.batch).padStart(5)} ${timing.median.toFixed(0).padStart(9)} ${ips.toFixed(1).padStart(6)}  (${c.pytorch}, ${(ips / c.pytorch).toFixed(2)}x)   ${rss.toFixed(0)} MiB`,
    );
    await runner.release();
  }
  return lines;
}
