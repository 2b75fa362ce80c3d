// Parameters and plain multiply-adds (conv + linear) of every roadmap step at 224×224, against the numbers
// in docs/roadmap.md (copied here): Table 10 as exact integers, Table 11 as its four-decimal GMACs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { countRoadmap, roadmapSteps, roadmapTable } from "../../src/models/roadmap.ts";

// docs/roadmap.md §0: step → [params, plain MACs].
const R50: Record<string, [number, number]> = {
  resnet50: [25_557_032, 4_089_184_256],
  stage_ratio: [28_628_520, 4_525_916_160],
  patchify: [28_622_120, 4_417_536_000],
  depthwise: [15_722_600, 2_349_507_072],
  width96: [33_760_936, 5_267_976_960],
  inverted: [25_851_400, 4_644_406_272],
  move_up_dw: [25_625_416, 4_065_080_448],
  kernel5: [25_720_648, 4_097_293_440],
  kernel7: [25_863_496, 4_145_612_928],
  kernel9: [26_053_960, 4_210_038_912],
  kernel11: [26_292_040, 4_290_571_392],
  gelu: [25_863_496, 4_145_612_928],
  fewer_acts: [25_863_496, 4_145_612_928],
  fewer_norms: [25_830_376, 4_145_612_928],
  bn_to_ln: [25_837_672, 4_145_612_928],
  convnext_t: [28_589_128, 4_455_531_264],
};

// docs/roadmap.md §5: step → [params, plain GMACs to 4 decimals].
const R200: Record<string, [number, number]> = {
  resnet200: [64_673_832, 15.0075],
  stage_ratio_w84: [83_066_332, 14.5184],
  patchify: [83_057_932, 14.3762],
  depthwise: [42_585_472, 7.2344],
  width128: [96_526_568, 16.7639],
  inverted: [83_700_072, 15.6794],
  move_up_dw: [83_094_632, 14.627],
  kernel5: [83_369_064, 14.6989],
  kernel7: [83_780_712, 14.8066],
  kernel9: [84_329_576, 14.9503],
  kernel11: [85_015_656, 15.13],
  gelu: [83_780_712, 14.8066],
  fewer_acts: [83_780_712, 14.8066],
  fewer_norms: [83_690_472, 14.8066],
  bn_to_ln: [83_709_416, 14.8066],
  convnext_b: [88_591_464, 15.3547],
};

// docs/roadmap.md §4: readings the paper's numbers reject, as [params, GMACs] to 4 decimals.
const REJECTED = [
  ["resnet50", { strideOn: "first" }, 25_557_032, 3.858],
  ["inverted", { hiddenFrom: "in" }, 23_494_024, 4.1194],
  ["inverted", { strideOn: "first" }, 25_851_400, 4.1242],
  ["move_up_dw", { hiddenFrom: "in" }, 23_297_608, 3.805],
  ["patchify", { stemNorm: true, stemAct: true }, 28_622_184, 4.4175],
  ["fewer_norms", { shortcutNorm: false }, 25_829_032, 4.1456],
  ["kernel7", { layerScale: 1e-6 }, 25_870_120, 4.1456],
] as const;

const gmacs4 = (macs: number) => Math.round(macs / 1e5) / 1e4;

test("Table 10 (ResNet-50 → ConvNeXt-T): every step's parameters and MACs, exactly", () => {
  const rows = roadmapTable("r50");
  assert.deepEqual(
    rows.map((r) => r.step),
    Object.keys(R50),
  );
  for (const r of rows) assert.deepEqual([r.params, r.macs], R50[r.step], r.step);
});

test("Table 11 (ResNet-200 → ConvNeXt-B): every step's parameters and GMACs", () => {
  const rows = roadmapTable("r200");
  assert.deepEqual(
    rows.map((r) => r.step),
    Object.keys(R200),
  );
  for (const r of rows) assert.deepEqual([r.params, gmacs4(r.macs)], R200[r.step], r.step);
});

test("the counts round to the paper's printed GFLOPs, except Table 10's two documented misprints", () => {
  const misprints = new Set(["r50/bn_to_ln", "r50/convnext_t"]);
  for (const regime of ["r50", "r200"] as const) {
    for (const r of roadmapTable(regime)) {
      const rounded = Math.round(r.macs / 1e7) / 100;
      if (misprints.has(`${regime}/${r.step}`)) assert.notEqual(rounded, r.paperGflops, r.step);
      else assert.equal(rounded, r.paperGflops, `${regime}/${r.step}`);
    }
  }
});

test("the readings the paper's numbers rule out are what the builder options give", () => {
  for (const [step, change, params, gmacs] of REJECTED) {
    const cfg = { ...roadmapSteps("r50").find((s) => s.step === step)!.config, ...change };
    const c = countRoadmap(cfg);
    assert.deepEqual([c.params, gmacs4(c.macs)], [params, gmacs], `${step} ${JSON.stringify(change)}`);
  }
});

test("each step changes its parent in the documented way, and side branches leave the main path", () => {
  const steps = roadmapSteps("r50");
  const byName = new Map(steps.map((s) => [s.step, s]));
  const diff = (a: object, b: object) =>
    Object.keys(b).filter(
      (k) =>
        JSON.stringify((a as Record<string, unknown>)[k]) !==
        JSON.stringify((b as Record<string, unknown>)[k]),
    );
  assert.deepEqual(diff(byName.get("kernel7")!.config, byName.get("gelu")!.config), ["act"]);
  assert.deepEqual(diff(byName.get("move_up_dw")!.config, byName.get("kernel11")!.config), ["kernelSize"]);
  assert.equal(byName.get("gelu")!.from, "kernel7");
  assert.deepEqual(
    steps.filter((s) => s.sideBranch).map((s) => s.step),
    ["kernel5", "kernel9", "kernel11"],
  );
  for (const s of steps) assert.ok(s.change.length > 0 && !s.change.includes("\n"), s.step);
});
