// The model's preprocessing: parsing the `preprocess` metadata, PIL's RGB→L, and 'pad' mode against the
// trainer's own evaluation transform.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parsePreprocessJson,
  prepareImage,
  preprocessToJson,
  rgbToGreyRgb,
  TIMM_DEFAULT_PREPROCESS,
} from "../../src/api/image-preprocess.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { applySampleTransform } from "../../src/train/augment/sample-transform.ts";
import { Rng } from "../../src/train/rng.ts";
import { fixture } from "../fixtures.ts";
import { compare, expectedF32, expectedU8 } from "../preprocess/expected.ts";

test("metadata config: camelCase or timm's snake_case, defaults from timm, one mean/std for grey models", () => {
  const timm = parsePreprocessJson(
    '{"input_size":[3,288,288],"interpolation":"bilinear","crop_pct":0.95,"crop_mode":"center"}',
    3,
  );
  assert.deepEqual(timm.config.inputSize, [288, 288]);
  assert.equal(timm.config.cropPct, 0.95);
  assert.deepEqual(timm.config.mean, TIMM_DEFAULT_PREPROCESS.mean);
  assert.equal(timm.channels, 3);
  const grey = parsePreprocessJson('{"inputSize":32,"mean":[0.3],"std":[0.4],"cropPct":1}', 1);
  assert.equal(grey.channels, 1);
  assert.deepEqual(grey.config.mean, [0.3, 0.3, 0.3]);
  // What we write reads back the same.
  assert.deepEqual(parsePreprocessJson(preprocessToJson(grey), 1), grey);
  const padded = parsePreprocessJson(
    '{"inputSize":32,"mean":[0.3],"std":[0.4],"cropPct":1,"cropMode":"pad","pad":2,"grayscale":true}',
    1,
  );
  assert.equal(padded.pad, 2);
  assert.deepEqual(parsePreprocessJson(preprocessToJson(padded), 1), padded);
});

test("bad metadata configs are one-line errors naming the checkpoint and the field", () => {
  const bad: [string, number, RegExp][] = [
    ['{"interpolation":"cubic"}', 3, /interpolation must be one of/],
    ['{"mean":[0.1,0.2]}', 3, /mean must be 1 or 3 numbers/],
    ['{"std":[0]}', 3, /std must be 1 or 3 positive numbers/],
    ['{"inputSize":32}', 1, /needs 'mean' \(one value\) for a 1-channel model/],
    ['{"inputSize":32,"mean":[0.1,0.2,0.3],"std":[1]}', 1, /mean must be 1 numbers/],
    ['{"inputSize":32,"cropMode":"pad","pad":16}', 3, /needs 'pad'/],
    ['{"cropMode":"zoom"}', 3, /cropMode must be/],
    ['{"grayscale":true}', 3, /says grayscale true but the model takes 3 channels/],
    ['{"input_size":[1,32,32]}', 3, /has 1 channels, the model takes 3/],
    ["[1]", 3, /is not a JSON object/],
    ["{", 3, /is not valid JSON/],
  ];
  for (const [json, ch, re] of bad) {
    assert.throws(
      () => parsePreprocessJson(json, ch, "m.safetensors"),
      (e: Error) => {
        assert.ok(e.message.startsWith("m.safetensors: metadata 'preprocess' "), e.message);
        assert.match(e.message, re);
        assert.ok(!e.message.includes("\n"));
        return true;
      },
    );
  }
  assert.throws(() => parsePreprocessJson("{}", 4, "m"), /1- or 3-channel model, this one takes 4/);
});

test("RGB → L is PIL's convert('L'): pure red/green/blue give 76/150/29, grey stays grey", () => {
  const img = {
    data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 37, 37, 37, 255, 255, 255]),
    width: 5,
    height: 1,
  };
  const l = rgbToGreyRgb(img).data;
  assert.deepEqual([l[0], l[3], l[6], l[9], l[12]], [76, 150, 29, 37, 255]);
  for (let i = 0; i < l.length; i += 3) assert.ok(l[i] === l[i + 1] && l[i] === l[i + 2]);
});

test("1-channel model on a greyscale photo = channel 0 of timm's RGB tensor (same mean/std)", async () => {
  const img = await decodeImage(fixture("preprocess", "images", "camera.png"));
  const p = { config: { ...TIMM_DEFAULT_PREPROCESS }, channels: 1 as const };
  const { tensor, uint8 } = prepareImage(img, p);
  assert.deepEqual(tensor.dims, [1, 224, 224]);
  assert.equal(compare(uint8.data, expectedU8("camera.uint8").bytes).maxAbs, 0);
  assert.ok(compare(tensor.data, expectedF32("camera.tensor").subarray(0, 224 * 224)).maxAbs <= 1e-6);
});

test("'pad' mode on 28×28 images equals the trainer's evaluation transform (center-pad-crop) exactly", () => {
  const rng = new Rng(11);
  const cfg = parsePreprocessJson(
    '{"inputSize":32,"interpolation":"bilinear","mean":[0.286],"std":[0.353],"cropPct":1,"cropMode":"pad","grayscale":true,"pad":2}',
    1,
  );
  for (let k = 0; k < 4; k++) {
    const grey = Uint8Array.from({ length: 28 * 28 }, () => Math.floor(rng.uniform() * 256));
    const expected = new Float32Array(32 * 32);
    applySampleTransform(
      { data: grey, width: 28, height: 28 },
      { kind: "center-pad-crop", size: 32, pad: 2, mean: [0.286], std: [0.353] },
      rng,
      expected,
    );
    const rgb = new Uint8Array(28 * 28 * 3);
    for (let i = 0; i < grey.length; i++) rgb.fill(grey[i], i * 3, i * 3 + 3);
    const { tensor } = prepareImage({ data: rgb, width: 28, height: 28 }, cfg);
    assert.deepEqual(tensor.dims, [1, 32, 32]);
    assert.equal(compare(tensor.data, expected).maxAbs, 0);
  }
  // A larger image is fitted into 28×28 first, then framed: the border stays at the normalised zero.
  const big = { data: new Uint8Array(100 * 60 * 3).fill(200), width: 100, height: 60 };
  const { tensor, uint8 } = prepareImage(big, cfg);
  assert.deepEqual([uint8.width, uint8.height], [32, 32]);
  const zero = Math.fround(Math.fround(0 - Math.fround(0.286)) / Math.fround(0.353));
  assert.equal(tensor.data[0], zero);
  assert.equal(
    tensor.data[2 * 32 + 2],
    Math.fround(Math.fround(Math.fround(200 / 255) - Math.fround(0.286)) / Math.fround(0.353)),
  );
});
