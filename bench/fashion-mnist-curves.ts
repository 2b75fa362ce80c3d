/**
 * The curves chart of a bench/fashion-mnist.ts run, from its metrics.jsonl (step lines every 20 steps, one test
 * line per epoch): writes curves.svg and curves.html beside it. The per-epoch training loss and accuracy are
 * the means of the logged steps of that epoch.
 * Usage: node --import tsx bench/fashion-mnist-curves.ts [docs/fashion-mnist/metrics.jsonl]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type Curves, curvesHtml, curvesSvg } from "../src/train/chart.ts";

interface StepLine {
  step: number;
  epoch: number;
  /** Index of the batch within the epoch: step = epoch × stepsPerEpoch + batch + 1. */
  batch: number;
  loss: number;
  accuracy: number;
}
interface EpochLine {
  epoch: number;
  test: { top1: number; top5: number; loss: number };
  seconds: number;
}

export function writeFashionMnistCurves(metricsFile: string, title: string, summary: string[]): void {
  const lines = readFileSync(metricsFile, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const steps = lines.filter((l): l is StepLine => "step" in l);
  const epochLines = lines.filter((l): l is EpochLine => "test" in l);
  const later = steps.find((s) => s.epoch > 0);
  const stepsPerEpoch = later ? (later.step - later.batch - 1) / later.epoch : (steps.at(-1)?.step ?? 0);
  const curves: Curves = {
    steps: steps.map(({ step, loss, accuracy }) => ({ step, loss, accuracy })),
    epochs: epochLines.map((e) => {
      const own = steps.filter((s) => s.epoch === e.epoch);
      const mean = (f: (s: StepLine) => number) =>
        own.reduce((a, s) => a + f(s), 0) / Math.max(1, own.length);
      return {
        epoch: e.epoch,
        step: (e.epoch + 1) * stepsPerEpoch,
        trainLoss: mean((s) => s.loss),
        trainAccuracy: mean((s) => s.accuracy),
        val: e.test,
      };
    }),
  };
  const dir = dirname(metricsFile);
  writeFileSync(join(dir, "curves.svg"), `${curvesSvg(curves)}\n`);
  writeFileSync(join(dir, "curves.html"), `${curvesHtml(curves, { title, summary })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = resolve(process.argv[2] ?? join(import.meta.dirname, "../docs/fashion-mnist/metrics.jsonl"));
  const setup = JSON.parse(readFileSync(file, "utf8").split("\n")[0]).setup;
  writeFashionMnistCurves(file, "Fashion-MNIST from scratch (test set, EMA weights)", [
    `dims ${setup.model.dims.join("/")}, depths ${setup.model.depths.join("/")}, ${setup.params} parameters, ${setup.macs} multiply-adds per image`,
    `batch ${setup.batchSize}, lr ${setup.recipe.lr}, ${setup.recipe.epochs} epochs, EMA ${setup.recipe.emaDecay}`,
  ]);
}
