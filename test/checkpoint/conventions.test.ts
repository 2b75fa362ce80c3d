import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  detectConvention,
  readHfConfig,
  stateDictFromCheckpoint,
  toTimm,
} from "../../src/checkpoint/conventions.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";

const t = (...dims: number[]): HostTensor => float32(dims);

test("the official checkpoint's 'model' is used; EMA only when asked; optimizer, epoch and args are ignored", () => {
  const model = new Map([["head.weight", t(2, 3)]]);
  const ema = new Map([["head.weight", t(2, 3)]]);
  const tree = new Map<string, unknown>([
    ["model", model],
    ["model_ema", ema],
    ["optimizer", new Map([["state", new Map()]])],
    ["epoch", 299],
  ]);
  assert.equal(stateDictFromCheckpoint(tree).get("head.weight"), model.get("head.weight"));
  assert.equal(stateDictFromCheckpoint(tree, { useEma: true }).get("head.weight"), ema.get("head.weight"));
  assert.throws(
    () => stateDictFromCheckpoint(new Map([["model", model]]), { useEma: true, source: "a.pth" }),
    /^Error: a\.pth: no EMA weights \(model_ema or state_dict_ema\) in the checkpoint$/,
  );
  // timm training checkpoints: state_dict / state_dict_ema
  const timmTrain = new Map<string, unknown>([
    ["state_dict", model],
    ["state_dict_ema", ema],
    ["epoch", 3],
  ]);
  assert.equal(stateDictFromCheckpoint(timmTrain).get("head.weight"), model.get("head.weight"));
  assert.equal(
    stateDictFromCheckpoint(timmTrain, { useEma: true }).get("head.weight"),
    ema.get("head.weight"),
  );
});

test("a DDP 'module.' prefix is dropped; a checkpoint without tensors is an error", () => {
  const sd = stateDictFromCheckpoint(new Map([["module.stem.0.weight", t(1)]]));
  assert.deepEqual([...sd.keys()], ["stem.0.weight"]);
  assert.throws(
    () =>
      stateDictFromCheckpoint(
        new Map<string, unknown>([
          ["epoch", 1],
          ["args", "x"],
        ]),
        { source: "e.pth" },
      ),
    /e\.pth: no tensors found in the checkpoint \(top-level keys: epoch, args\)/,
  );
});

test("keys a convention does not know are all listed in one error", () => {
  const sd = new Map([
    ["downsample_layers.0.0.weight", t(1)],
    ["stages.0.0.mystery.weight", t(1)],
    ["extra", t(1)],
    ["stages.0.0.constructor", t(1)],
  ]);
  assert.throws(
    () => toTimm(sd, { source: "o.pth" }),
    /^Error: o\.pth: 3 keys are not official ConvNeXt keys: stages\.0\.0\.mystery\.weight, extra, stages\.0\.0\.constructor$/,
  );
  assert.throws(
    () => detectConvention(["encoder.layer.0.weight"]),
    /cannot tell which ConvNeXt checkpoint convention/,
  );
});

test("GRN and layer-scale parameters lose their unit dims without copying", () => {
  const grn = t(1, 1, 1, 8);
  const ls = t(4, 1, 1);
  const official = toTimm(new Map([["stages.1.2.grn.gamma", grn]]), { convention: "official" });
  assert.deepEqual(official.get("stages.1.blocks.2.mlp.grn.weight")!.dims, [8]);
  assert.equal(official.get("stages.1.blocks.2.mlp.grn.weight")!.data, grn.data);
  const tv = toTimm(new Map([["features.5.1.layer_scale", ls]]), { convention: "torchvision" });
  assert.deepEqual(tv.get("stages.2.blocks.1.gamma")!.dims, [4]);
  const hf = toTimm(new Map([["convnextv2.encoder.stages.3.layers.0.grn.bias", grn]]), { convention: "hf" });
  assert.deepEqual(hf.get("stages.3.blocks.0.mlp.grn.bias")!.dims, [8]);
});

test("HF config: facts from config.json, and layer_norm_eps defaults to HF's 1e-12 when missing", () => {
  const file = fixture("models", "v2-small", "hf", "config.json");
  const json = JSON.parse(readFileSync(file, "utf8"));
  const facts = readHfConfig(json, file);
  assert.equal(facts.modelType, json.model_type);
  assert.equal(facts.version, 2);
  assert.deepEqual(facts.dims, json.hidden_sizes);
  assert.deepEqual(facts.depths, json.depths);
  assert.equal(facts.headNormEps, json.layer_norm_eps);
  assert.equal(facts.numClasses, Object.keys(json.id2label).length);
  assert.deepEqual(
    facts.labels,
    Object.keys(json.id2label).map((k) => json.id2label[k]),
  );

  const { layer_norm_eps: _, ...withoutEps } = json;
  assert.equal(readHfConfig(withoutEps).headNormEps, 1e-12);
  // id2label keys are strings; class order is numeric, not lexicographic.
  const labels = readHfConfig({ model_type: "convnext", id2label: { "10": "k", "2": "c", "0": "a" } }).labels;
  assert.deepEqual(labels, ["a", "c", "k"]);
  assert.equal(readHfConfig({ model_type: "convnext", num_labels: 5 }).numClasses, 5);
  assert.throws(
    () => readHfConfig({ model_type: "vit" }, "c.json"),
    /c\.json: HF config model_type is "vit"/,
  );
});
