// What a JavaScript caller (no type checker) can hand the library: each mistake ends in one line naming it, at
// once, instead of a hang, gigabytes, a dump of onnxruntime's internals or a quietly wrong answer.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createWebClassifier } from "../../src/api/classifier-web.ts";
import { classify } from "../../src/api/classify-node.ts";
import { createWebFineTuner } from "../../src/api/fine-tuner-web.ts";
import { prepareImage, TIMM_DEFAULT_PREPROCESS } from "../../src/api/image-preprocess.ts";
import { softmax } from "../../src/api/top-k.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/checkpoint/safetensors.ts";
import { makeConfig } from "../../src/models/config.ts";
import { initParams } from "../../src/models/init.ts";
import { ConvNeXtModel } from "../../src/node/model.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";
import { AdamW } from "../../src/train/adamw.ts";
import { fixture, REPO_ROOT } from "../fixtures.ts";
import { assertOneLineError, rejectsOneLine } from "../helpers.ts";

const ATTO = fixture("models", "v1-atto", "timm.safetensors");
const loose = <T>(v: unknown) => v as T; // what an untyped caller passes

let model: ConvNeXtModel;
before(async () => {
  model = await ConvNeXtModel.load(ATTO, { threads: 1 });
});
after(async () => {
  await model.release();
});

test("threads beyond the machine's cores, or not a count, are refused at load", async () => {
  const cores = availableParallelism();
  for (const threads of [cores + 1, 100_000, 0, 1.5, Number.NaN, loose<number>("two")]) {
    await rejectsOneLine(
      ConvNeXtModel.load(ATTO, { threads }),
      new RegExp(`threads must be an integer from 1 to ${cores} \\(this machine's cores\\)`),
    );
  }
  await rejectsOneLine(
    ConvNeXtModel.load(ATTO, { precision: loose("fp7") }),
    /precision must be one of fp32, fp16, int8, got "fp7"/,
  );
});

test("a misspelt option is named, not ignored (a `weight` typo would classify with the bundled model)", async () => {
  const image = join(REPO_ROOT, "assets", "examples", "coat.png");
  await rejectsOneLine(
    classify([image], loose({ weight: ATTO })),
    /classify: unknown option 'weight' \(known: model, weights,/,
  );
  await rejectsOneLine(
    ConvNeXtModel.load(ATTO, loose({ thread: 1 })),
    /ConvNeXtModel\.load: unknown option 'thread'/,
  );
  const [result] = await classify([image], { weights: ATTO, threads: 1, top: 1 });
  assert.equal(result.top.length, 1);
  assert.equal(result.top[0].label.length > 0, true);
});

test("forward names an unknown or missing feature and a tensor whose data does not match its dims", async () => {
  const x = float32([1, 3, 64, 64]);
  await rejectsOneLine(
    model.forward(x, loose(["logitz"])),
    /unknown feature 'logitz' \(known: stem, .*logits\)/,
  );
  await rejectsOneLine(model.forward(x, loose(["logits", "Stage3"])), /unknown feature 'Stage3'/);
  await rejectsOneLine(model.forward(x, []), /no features requested/);
  const long = { dtype: "float32" as const, dims: [1, 3, 64, 64], data: new Float32Array(2 * 3 * 64 * 64) };
  await rejectsOneLine(
    model.forward(long),
    /input \[1, 3, 64, 64\] needs 12288 values, its data holds 24576/,
  );
  await rejectsOneLine(
    model.forward({ ...x, dims: [1, Number.NaN, 64, 64] }),
    /input must be \(N, 3, H, W\)/,
  );
  await rejectsOneLine(
    model.forward(loose(null)),
    /input must be a tensor \{ dtype, dims, data \}, got null/,
  );
  assert.throws(() => model.toOnnx(loose(["nope"])), /unknown feature 'nope'/);
  const { logits } = await model.forward(x);
  assert.deepEqual(logits.dims, [1, 1000]);
});

test("images must be a list of inputs, and pixels bytes", async () => {
  const started = performance.now();
  await rejectsOneLine(classify(loose("coat.png")), /images must be an array .*got the string 'coat\.png'/);
  assert.ok(performance.now() - started < 1000, "refused before any model is loaded");
  const pixels = { data: new Float32Array(8 * 8 * 3).fill(0.8), width: 8, height: 8 };
  const preprocess = { config: TIMM_DEFAULT_PREPROCESS, channels: 3 as const };
  assertOneLineError(
    () => prepareImage(loose(pixels), preprocess),
    /data must be RGB bytes \(a Uint8Array\), got Float32Array/,
  );
  const bytes = { ...pixels, data: new Uint8Array(8 * 8 * 3).fill(204) };
  assert.deepEqual(prepareImage(bytes, preprocess).tensor.dims, [3, 224, 224]);
});

test("softmax refuses a range outside its logits and a non-finite logit", () => {
  assertOneLineError(() => softmax([1, 2, 3], 0, 1e9), /logits 0\.\.999999999 are not within the 3 given/);
  assertOneLineError(() => softmax([1, 2, 3], 7), /not within the 3 given/);
  assertOneLineError(() => softmax([1, Number.NaN, 3]), /logit 1 is NaN/);
  const p = softmax([1, 2, 3, 4], 1, 2);
  assert.equal(p.length, 2);
  assert.ok(Math.abs(p[0] + p[1] - 1) < 1e-15 && p[1] > p[0]);
});

test("makeConfig refuses fields no model can have and misspelt ones", () => {
  const base = { dims: [8, 16], depths: [1, 1] };
  for (const [extra, pattern] of [
    [{ numclasses: 5 }, /unknown field 'numclasses'/],
    [{ kernelSize: 4 }, /depthwise kernel 4 is even/],
    [{ dims: [-8, 16] }, /stage 0 width is -8/],
    [{ version: 3 }, /version is 3, expected 1 or 2/],
    [{ dropPathRate: 2 }, /drop path rate is 2/],
    [{ numClasses: "10" }, /classes is "10"/],
    [{ depths: [1] }, /differ in length/],
    [{ normEps: -1 }, /LayerNorm eps is -1/],
    // The checkpoint reader wants > 0: a model made with 0 or less could be trained but not read back.
    [{ layerScaleInit: -1 }, /layer scale init is -1, expected a finite number > 0 or null/],
    [{ layerScaleInit: 0 }, /layer scale init is 0/],
  ] as const) {
    assertOneLineError(() => makeConfig(loose({ ...base, ...extra })), pattern);
  }
  assert.equal(makeConfig({ ...base, numClasses: 5 }).numClasses, 5);
});

test("initParams stops on a normal() that is not one", () => {
  const cfg = makeConfig({ dims: [8, 16], depths: [1, 1], numClasses: 2 });
  assertOneLineError(() => initParams(cfg, () => Number.NaN), /normal\(\) returned NaN, not a number/);
  assertOneLineError(() => initParams(cfg, () => 5), /1000 values in a row outside \[-2, 2\]/);
});

test("serializeSafetensors refuses data that is not of the dtype it claims", () => {
  assertOneLineError(
    () => serializeSafetensors({ w: { dtype: "float32", dims: [2], data: loose(new Float64Array(2)) } }),
    /tensor 'w': float32 data must be a Float32Array, got Float64Array/,
  );
  assertOneLineError(
    () => serializeSafetensors({ w: { dtype: loose("complex"), dims: [2], data: new Float32Array(2) } }),
    /tensor 'w': unknown dtype 'complex'/,
  );
});

test("checkpoint bytes must be bytes", async () => {
  assertOneLineError(
    () => parseSafetensors(loose(new ArrayBuffer(8))),
    /safetensors bytes must be a Uint8Array, got ArrayBuffer/,
  );
  await rejectsOneLine(
    createWebClassifier(loose({ weight: new Uint8Array(readFileSync(ATTO)) })),
    /weights: checkpoint bytes must be a Uint8Array, got undefined/,
  );
});

test("fine-tuning settings and AdamW hyper-parameters are checked", () => {
  const weights = new Uint8Array(readFileSync(ATTO));
  assertOneLineError(
    () => createWebFineTuner({ weights, classes: ["a", "b"], train: loose("heads") }),
    /train must be "head" or "all", got "heads"/,
  );
  assertOneLineError(() => createWebFineTuner({ weights, classes: ["a", "a"] }), /class 'a' is named twice/);
  assertOneLineError(
    () => createWebFineTuner({ weights, classes: ["a", "b"], lr: -1 }),
    /lr must be a number > 0/,
  );
  const data = Float32Array.of(1, 2, 3, 4);
  assertOneLineError(
    () => new AdamW([{ name: "w", data, dims: [2, 2] }], { betas: [2, -1] }),
    /betas must be two numbers in \[0, 1\)/,
  );
  assertOneLineError(
    () => new AdamW([{ name: "w", data, dims: [100] }]),
    /parameter w has 4 values, its dims \[100\]/,
  );
  const adam = new AdamW([{ name: "w", data, dims: [2, 2] }]);
  assertOneLineError(
    () => adam.step({ w: Float32Array.of(1, 1, 1, 1) }, Number.NaN),
    /learning rate must be a number ≥ 0, got NaN/,
  );
  assert.deepEqual([...data], [1, 2, 3, 4]);
});
