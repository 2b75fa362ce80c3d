import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { modelConfig } from "../../src/models/variants.ts";
import { paramShapes } from "../../src/models/convnext.ts";
import {
  layerIdConvNeXt,
  layerLrScales,
  learningRate,
  weightDecayApplies,
} from "../../src/train/schedule.ts";
import { fixture } from "../fixtures.ts";

test("warmup starts at 0, reaches base lr on its last step, cosine ends at minLr, never increases after", () => {
  const s = { baseLr: 4e-3, minLr: 1e-6, warmupSteps: 20, totalSteps: 300 };
  assert.equal(learningRate(s, 0), 0);
  assert.equal(learningRate(s, s.warmupSteps - 1), s.baseLr);
  assert.equal(learningRate(s, s.warmupSteps), s.baseLr); // cosine i = 0
  assert.ok(Math.abs(learningRate(s, 10) - (s.baseLr * 10) / 19) < 1e-18);
  assert.equal(learningRate(s, s.totalSteps), s.minLr);
  assert.equal(learningRate(s, s.totalSteps + 50), s.minLr);
  // half-way through the cosine: the mean of base and min
  const mid = s.warmupSteps + (s.totalSteps - s.warmupSteps) / 2;
  assert.ok(Math.abs(learningRate(s, mid) - (s.baseLr + s.minLr) / 2) < 1e-15);
  let prev = Number.POSITIVE_INFINITY;
  for (let t = s.warmupSteps; t <= s.totalSteps; t++) {
    const lr = learningRate(s, t);
    assert.ok(lr <= prev && lr >= s.minLr, `step ${t}`);
    prev = lr;
  }
  for (let t = 1; t < s.warmupSteps; t++) assert.ok(learningRate(s, t) > learningRate(s, t - 1));
  // last scheduled step is just above minLr (the official table stops one cosine step short)
  assert.ok(learningRate(s, s.totalSteps - 1) > s.minLr);
  assert.equal(learningRate({ ...s, warmupSteps: 0 }, 0), s.baseLr);
});

const tinyNames = [...paramShapes(modelConfig("convnext_tiny")).keys()];
const tinyDepths = modelConfig("convnext_tiny").depths;

test("convnext_tiny layer ids follow the official rule in reference.md §4", () => {
  const refPath = fixture("..", "docs", "reference.md");
  if (existsSync(refPath)) {
    assert.match(
      readFileSync(refPath, "utf8"),
      /stem 0; stages 0\/1 → 1\/2; downsamplers 1\/2 → 2\/3; stage-2 block j →\s*3 \+ ⌊j\/3⌋; stage 3 and its downsampler → 12; final norm and head → 13/,
    );
  }
  const seen = new Set<number>();
  for (const name of tinyNames) {
    const id = layerIdConvNeXt(name, tinyDepths);
    seen.add(id);
    const parts = name.split(".");
    let expected: number;
    if (parts[0] === "stem") expected = 0;
    else if (parts[0] === "head") expected = 13;
    else {
      const s = Number(parts[1]);
      if (parts[2] === "downsample") expected = [0, 2, 3, 12][s];
      else expected = s < 2 ? s + 1 : s === 2 ? 3 + Math.floor(Number(parts[3]) / 3) : 12;
    }
    assert.equal(id, expected, name);
  }
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 12, 13],
  );
  // official checkpoint names give the same ids
  assert.equal(layerIdConvNeXt("downsample_layers.0.1.weight", tinyDepths), 0);
  assert.equal(layerIdConvNeXt("downsample_layers.2.1.weight", tinyDepths), 3);
  assert.equal(layerIdConvNeXt("downsample_layers.3.0.bias", tinyDepths), 12);
  assert.equal(layerIdConvNeXt("stages.2.7.pwconv1.weight", tinyDepths), 5);
  assert.equal(layerIdConvNeXt("norm.weight", tinyDepths), 13);
  assert.throws(
    () => layerIdConvNeXt("stages.2.blocks.9.gamma", tinyDepths),
    /block 9 does not exist in stage 2/,
  );
});

test("base (3,3,27,3) uses every id 0..13 and lr scales are decay^(13 - id)", () => {
  const cfg = modelConfig("convnext_base");
  const names = [...paramShapes(cfg).keys()];
  const ids = new Set(names.map((n) => layerIdConvNeXt(n, cfg.depths)));
  assert.equal(ids.size, 14);
  const scales = layerLrScales(names, cfg.depths, 0.8);
  names.forEach((n, i) => {
    assert.ok(Math.abs(scales[i] - 0.8 ** (13 - layerIdConvNeXt(n, cfg.depths))) < 1e-15);
  });
  assert.equal(scales[names.indexOf("head.fc.weight")], 1);
  assert.ok(Math.abs(scales[names.indexOf("stem.0.weight")] - 0.8 ** 13) < 1e-15);
});

test("weight decay applies exactly to the manifest's decay list", () => {
  const manifest = JSON.parse(readFileSync(fixture("grad", "manifest.json"), "utf8"));
  const cfg = modelConfig("convnext_tiny", {
    dims: manifest.architecture.dims,
    depths: manifest.architecture.depths,
    numClasses: 10,
  });
  const decayed = [...paramShapes(cfg)].filter(([n, d]) => weightDecayApplies(n, d)).map(([n]) => n);
  assert.deepEqual(decayed.sort(), [...manifest.optimizer.decay_params].sort());
});
