// Parameter counts and multiply-adds (conv + linear, the paper's convention) of every variant, against the
// exact numbers of docs/reference.md (counted there from the reference implementations).
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildConvNeXt, paramShapes } from "../../src/models/convnext.ts";
import { countParams, imageMacs } from "../../src/models/count.ts";
import { modelConfig } from "../../src/models/variants.ts";

// name: [params, MACs @224, MACs @384]
const REFERENCE: Record<string, [number, number?, number?]> = {
  convnext_atto: [3_695_520, 547_332_480],
  convnext_femto: [5_217_784, 779_629_824],
  convnext_pico: [9_045_672, 1_367_055_360],
  convnext_nano: [15_593_560, 2_445_528_320],
  convnext_tiny: [28_589_128, 4_455_531_264, 13_092_317_184],
  convnext_small: [50_223_688, 8_683_712_256, 25_517_991_936],
  convnext_base: [88_591_464, 15_354_729_472, 45_122_117_632],
  convnext_large: [197_767_336, 34_361_433_600, 100_977_561_600],
  convnext_xlarge: [350_196_968, 60_921_030_656, 179_029_262_336],
  convnextv2_atto: [3_708_400, 547_332_480],
  convnextv2_femto: [5_233_240, 779_629_824],
  convnextv2_pico: [9_066_280, 1_367_055_360],
  convnextv2_nano: [15_623_800, 2_445_528_320],
  convnextv2_tiny: [28_635_496, 4_455_531_264],
  convnextv2_base: [88_717_800, 15_354_729_472],
  convnextv2_large: [197_956_840, 34_361_433_600],
  convnextv2_huge: [660_289_640], // MACs printed as 114.92 G only
};
// V2 GMACs as printed in reference.md (4 significant digits).
const V2_GMACS: Record<string, number> = {
  convnextv2_atto: 0.5473,
  convnextv2_femto: 0.7796,
  convnextv2_pico: 1.3671,
  convnextv2_nano: 2.4455,
  convnextv2_tiny: 4.4555,
  convnextv2_base: 15.3547,
  convnextv2_large: 34.3614,
  convnextv2_huge: 114.92,
};

for (const [name, [params, macs224, macs384]] of Object.entries(REFERENCE)) {
  test(`${name}: exact parameter count and MACs`, () => {
    const cfg = modelConfig(name);
    assert.equal(countParams(paramShapes(cfg)), params);
    const at = (r: number) => imageMacs(cfg, r);
    const m224 = at(224);
    if (macs224 !== undefined) assert.equal(m224, macs224);
    const printed = V2_GMACS[name];
    if (printed !== undefined) {
      const decimals = String(printed).split(".")[1].length;
      assert.equal(Number((m224 / 1e9).toFixed(decimals)), printed);
    }
    if (macs384) assert.equal(at(384), macs384);
  });
}

test("MACs follow PyTorch's floor for input sizes that are not multiples of 32", () => {
  const cfg = modelConfig("convnext_atto");
  const g = buildConvNeXt(cfg, { inputShape: [1, 3, 100, 70], outputs: ["stage3", "logits"] }).graph;
  // 100x70 → stem 25x17 → 12x8 → 6x4 → 3x2
  assert.deepEqual(g.shape("stage3"), [1, 320, 3, 2]);
});
