/**
 * `export --precision fp16` against fp32: file size, inference time (the sessions interleaved run by run so
 * machine noise hits all; medians) and the logit error fp16 weights cause, on the v1-atto fixture (its
 * re-drawn weights and inputs) and on ConvNeXt-T with random weights at 224². A third graph computes in fp16
 * throughout (the alternative export does not take, see src/graph/float16.ts), for its time and error.
 */
import { join } from "node:path";
import { openExportSource } from "../src/api/export-source-node.ts";
import { exportOnnx } from "../src/api/onnx-export-node.ts";
import { TIMM_DEFAULT_PREPROCESS } from "../src/api/image-preprocess.ts";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { buildConvNeXt } from "../src/models/convnext.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32, type HostTensor, toFloat16 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { maxAbs, maxAbsDiff, readTensors } from "../test/helpers.ts";

const f = (v: number, digits: number) => v.toFixed(digits);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Model = Parameters<typeof exportOnnx>[0];

/** Every weight and activation in fp16; x cast in, logits cast out, so it runs on the same float32 feeds. */
function float16Arithmetic(model: Model): Uint8Array {
  const { graph: g } = buildConvNeXt(model.config, { weights: model.weights });
  for (const [n, t] of g.initializers) if (t.dtype === "float32") g.initializers.set(n, toFloat16(t));
  const x16 = g.fresh("x_fp16");
  for (const n of g.nodes) n.inputs = n.inputs.map((v) => (v === "x" ? x16 : v));
  g.rename("logits", "logits_fp16");
  g.outputs[0].name = "logits";
  g.nodes.unshift({
    op: "Cast",
    inputs: ["x"],
    outputs: [x16],
    attrs: { to: 10 },
    name: g.fresh("n_cast_x"),
  });
  g.nodes.push({
    op: "Cast",
    inputs: ["logits_fp16"],
    outputs: ["logits"],
    attrs: { to: 1 },
    name: g.fresh("n_cast_logits"),
  });
  return toOnnxBytes(g);
}

async function compare(name: string, model: Model, x: HostTensor, repeats: number): Promise<string[]> {
  const variants = ["fp32", "fp16", "fp16 arithmetic"] as const;
  const bytes = {
    fp32: exportOnnx(model),
    fp16: exportOnnx(model, { precision: "fp16" }),
    "fp16 arithmetic": float16Arithmetic(model),
  };
  const sessions = await Promise.all(variants.map((v) => createSession(bytes[v], { threads: 1 })));
  const logits = await Promise.all(sessions.map(async (s) => (await s.run({ x })).logits));
  const times: number[][] = variants.map(() => []);
  for (let r = 0; r < repeats; r++) {
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run({ x });
      times[i].push(performance.now() - t0);
    }
  }
  for (const s of sessions) await s.release();
  const scale = maxAbs(logits[0]);
  const t32 = median(times[0]);
  return variants
    .map((v, i) => {
      const err = maxAbsDiff(logits[i], logits[0]);
      const t = median(times[i]);
      return `  ${v.padEnd(16)} ${f(bytes[v].length / 1e6, 2).padStart(7)} MB (${f(bytes[v].length / bytes.fp32.length, 3)}×)  ${f(t, 1).padStart(6)} ms (${f(t / t32, 2)}× fp32)  max |Δlogit| ${err.toExponential(2)} = ${(err / scale).toExponential(2)} of max |logit| ${f(scale, 2)}`;
    })
    .map((line, i) => (i === 0 ? `${name}\n${line}` : line));
}

export async function benchExportPrecision(fixturesDir: string, repeats = 9): Promise<string[]> {
  const lines = [
    `export --precision fp16 vs fp32: size, median of ${repeats} interleaved runs (1 thread), logit error vs fp32`,
  ];
  const dir = join(fixturesDir, "models", "v1-atto");
  const x = readTensors(join(dir, "expected.safetensors")).get("x")!;
  lines.push(
    ...(await compare(
      `v1-atto fixture [${x.dims}]`,
      await openExportSource(join(dir, "timm.safetensors")),
      x,
      repeats,
    )),
  );

  const config = modelConfig("convnext_tiny", { layerScaleInit: 0.5 });
  const rng = new Rng(0);
  const weights = initParams(config, () => rng.normal());
  const labels = Array.from({ length: config.numClasses }, (_, i) => `class ${i}`);
  const input = float32(
    [1, 3, 224, 224],
    Float32Array.from({ length: 3 * 224 * 224 }, () => rng.normal()),
  );
  const tiny = {
    config,
    weights,
    labels,
    preprocess: { config: TIMM_DEFAULT_PREPROCESS, channels: 3 as const },
  };
  lines.push(...(await compare("convnext_tiny random [1,3,224,224]", tiny, input, repeats)));
  return lines;
}
