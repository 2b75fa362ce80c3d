/**
 * `convnext train-step`: optimizer steps on one fixed batch, writing the loss and gradients of the first step
 * and the parameters after the last one, with timm names — the debug-state check users compare with PyTorch.
 */
import type { Command } from "commander";
import { loadCheckpointFile } from "../checkpoint/load-node.ts";
import { checkParams } from "../checkpoint/validate.ts";
import { type ConvNeXtConfig, checkInputDims } from "../models/config.ts";
import { paramShapes } from "../models/convnext.ts";
import { engineError } from "../runtime/session.ts";
import { float32, type Float32Tensor, type HostTensor } from "../tensor/host-tensor.ts";
import { nodeStepEngine } from "../train/engine-node.ts";
import { smoothedTargets } from "../train/loss.ts";
import { StepRunner } from "../train/step-runner.ts";
import { convnextTrainable } from "../train/trainable.ts";
import { fractionBelowOne, nonNegativeNumber, positiveInt, threadsOption } from "./options.ts";
import { checkOutput } from "./output-guard.ts";
import { readTensorFile, requireFloatTensor, requireTensor, writeTensorFile } from "./tensor-files.ts";
import { notice, printJson } from "./output.ts";

interface Options {
  weights: string;
  batch: string;
  /** Undefined when not given (0 for hard labels). */
  smoothing?: number;
  softTargets?: string;
  lr: number;
  weightDecay: number;
  steps: number;
  output: string;
  threads?: number;
  useEma?: boolean;
  json?: boolean;
}

function targetsFrom(
  batch: Map<string, HostTensor>,
  opts: Options,
  numClasses: number,
  n: number,
): Float32Tensor {
  if (opts.softTargets) {
    const t = requireFloatTensor(batch, opts.softTargets, opts.batch);
    if (t.dims.length !== 2 || t.dims[0] !== n || t.dims[1] !== numClasses) {
      throw new Error(
        `${opts.batch}: soft targets '${opts.softTargets}' have shape [${t.dims}], expected [${n}, ${numClasses}]`,
      );
    }
    checkFinite(t, `${opts.batch}: soft targets '${opts.softTargets}'`);
    // timm's SoftTargetCrossEntropy: smoothing belongs in the targets (mixup_target), not in the loss.
    if (opts.smoothing) notice("note: --smoothing applies to hard labels y; soft targets are used as given");
    return t;
  }
  const y = requireTensor(batch, "y", opts.batch);
  if (y.dims.length !== 1 || y.dims[0] !== n)
    throw new Error(`${opts.batch}: y has shape [${y.dims}], expected [${n}]`);
  if (y.dtype === "bool" || y.dtype === "float16" || y.dtype === "bfloat16")
    throw new Error(`${opts.batch}: tensor 'y' is ${y.dtype}; class indices (an integer tensor) are needed`);
  try {
    return smoothedTargets(
      Array.from(y.data as ArrayLike<number | bigint>, Number),
      numClasses,
      opts.smoothing ?? 0,
    );
  } catch (e) {
    throw new Error(`${opts.batch}: y: ${(e as Error).message}`);
  }
}

function checkFinite(t: Float32Tensor, what: string): void {
  const i = t.data.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) throw new Error(`${what} holds ${t.data[i]} at flat index ${i}`);
}

/** The steps on the batch: loss and gradients of the first, parameters (updated in place) after the last. */
async function runSteps(
  config: ConvNeXtConfig,
  params: Map<string, Float32Tensor>,
  x: Float32Tensor,
  targets: Float32Tensor,
  opts: Options,
): Promise<{ out: Map<string, HostTensor>; losses: number[] }> {
  let runner: StepRunner | undefined;
  try {
    runner = await StepRunner.create(
      convnextTrainable(config),
      params,
      x.dims as [number, number, number, number],
      nodeStepEngine({ threads: opts.threads }),
      { weightDecay: opts.weightDecay },
    );
    const out = new Map<string, HostTensor>();
    const losses: number[] = [];
    for (let s = 0; s < opts.steps; s++) {
      const r = await runner.step(x, targets, opts.lr);
      losses.push(r.loss);
      if (s === 0) {
        out.set("loss", float32([1], [r.loss]));
        for (const [name, g] of r.grads)
          out.set(`grad.${name}`, float32(params.get(name)!.dims, Float32Array.from(g)));
      }
    }
    for (const [name, p] of params) out.set(`param.${name}`, p);
    return { out, losses };
  } catch (e) {
    throw engineError(e, opts.weights, "the training step");
  } finally {
    await runner?.release();
  }
}

export function register(program: Command): void {
  program
    .command("train-step")
    .description(
      "AdamW steps on one fixed batch; writes loss, grad.<param> (first step) and param.<param> (last)",
    )
    .requiredOption("--weights <params.safetensors>", "parameters (timm names; architecture inferred)")
    .requiredOption("--batch <batch.safetensors>", "tensors x (N,3,H,W) and y (N) or soft targets")
    .option(
      "--smoothing <eps>",
      "label smoothing for hard labels (default 0)",
      fractionBelowOne("--smoothing"),
    )
    .option("--soft-targets <name>", "use this (N, classes) tensor of the batch file as targets")
    .option("--lr <lr>", "learning rate", nonNegativeNumber("--lr"), 1e-3)
    .option(
      "--weight-decay <wd>",
      "decoupled weight decay (not on biases and 1-D parameters)",
      nonNegativeNumber("--weight-decay"),
      0.05,
    )
    .option("--steps <n>", "optimizer steps", positiveInt("--steps"), 1)
    .option("--threads <n>", "onnxruntime threads", threadsOption)
    .requiredOption("--output <out.safetensors>", "output file")
    .option("--use-ema", "start from the EMA weights of a training checkpoint")
    .option("--json", "print a summary line: {output, steps, loss (first step), lastLoss, params}")
    .action(async (opts: Options) => {
      await checkOutput(
        { flag: "--output", path: opts.output, extensions: [".safetensors"], writes: "safetensors" },
        [
          { flag: "--weights", path: opts.weights, folder: true },
          { flag: "--batch", path: opts.batch },
        ],
      );
      // Any checkpoint convention is accepted; parameters are trained and written under timm's names.
      const ckpt = await loadCheckpointFile(opts.weights, { useEma: opts.useEma });
      // The architecture is read off a few keys; every other key and shape must then fit it.
      checkParams(paramShapes(ckpt.config), ckpt.tensors, opts.weights);
      if (ckpt.config.numClasses === 0)
        throw new Error(`${opts.weights}: no classifier head (head.fc.weight): a training step needs logits`);
      const params = new Map(
        [...ckpt.tensors].map(([k, v]) => [k, float32(v.dims, Float32Array.from(v.data))]),
      );
      const config = ckpt.config;
      const batch = await readTensorFile(opts.batch);
      const x = requireFloatTensor(batch, "x", opts.batch);
      checkInputDims(config, x.dims, `${opts.batch}: x`);
      checkFinite(x, `${opts.batch}: x`);
      const targets = targetsFrom(batch, opts, config.numClasses, x.dims[0]);
      const { out, losses } = await runSteps(config, params, x, targets, opts);
      await writeTensorFile(opts.output, out);
      if (opts.json) {
        const summary = { steps: opts.steps, loss: losses[0], lastLoss: losses.at(-1), params: params.size };
        printJson({ output: opts.output, ...summary });
      }
    });
}
