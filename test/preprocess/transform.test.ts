import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import {
  batchTensors,
  centerCrop,
  evalTransform,
  type PreprocessConfig,
  resizeShortSide,
  roundHalfEven,
} from "../../src/preprocess/transform.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { compare, expectedF32, expectedU8, manifest } from "./expected.ts";

const dc = manifest.data_config;
const config: PreprocessConfig = {
  inputSize: [dc.input_size[1], dc.input_size[2]],
  interpolation: dc.interpolation,
  mean: dc.mean,
  std: dc.std,
  cropPct: dc.crop_pct,
  cropMode: dc.crop_mode,
};

const images = Object.entries<any>(manifest.images).filter(([, f]) => f.decodable);

for (const [file, facts] of images) {
  const stem = file.replace(/\.[a-z]+$/, "");
  test(`eval transform of ${file} equals timm/PIL (resize exact, crop exact, tensor within 1e-6)`, async () => {
    const img = await decodeImage(fixture("preprocess", facts.file));
    assert.deepEqual([img.width, img.height], facts.source_size_wh);
    const out = evalTransform(img, config);

    assert.deepEqual([out.resized.width, out.resized.height], facts.resized_size_wh);
    const resized = compare(out.resized.data, expectedU8(`${stem}.resized_uint8`).bytes);
    assert.equal(resized.maxAbs, 0, `${file} resized differs from PIL on ${resized.nDiff} values`);

    const uint8 = compare(out.uint8.data, expectedU8(`${stem}.uint8`).bytes);
    assert.equal(uint8.maxAbs, 0, `${file} crop differs on ${uint8.nDiff} values`);
    // The crop sits at the offset the manifest records.
    const [ox, oy] = facts.crop_offset_xy;
    const w = out.resized.width;
    assert.deepEqual(
      out.uint8.data.subarray(0, 3),
      out.resized.data.subarray((oy * w + ox) * 3, (oy * w + ox) * 3 + 3),
    );

    assert.deepEqual(out.tensor.dims, facts.output_shape);
    const tensor = compare(out.tensor.data, expectedF32(`${stem}.tensor`));
    assert.ok(tensor.maxAbs <= 1e-6, `${file} tensor max diff ${tensor.maxAbs}`);
  });
}

test("crop offsets round half to even, as Python's round()", () => {
  assert.equal(roundHalfEven(79.5), 80);
  assert.equal(roundHalfEven(80.5), 80);
  assert.equal(roundHalfEven(1.5), 2);
  assert.equal(roundHalfEven(2.4999), 2);
  assert.equal(roundHalfEven(2.5001), 3);
  // rocket: 383 wide after resize, crop 224 at x = round(79.5) = 80.
  const img = { width: 383, height: 256, data: new Uint8Array(383 * 256 * 3) };
  for (let y = 0; y < 256; y++) for (let x = 0; x < 383; x++) img.data[(y * 383 + x) * 3] = x % 256;
  assert.equal(centerCrop(img, 224, 224).data[0], 80);
});

test("short-side resize floors the long side (torchvision)", () => {
  const img = { width: 451, height: 300, data: new Uint8Array(451 * 300 * 3) };
  const r = resizeShortSide(img, 256, "bicubic");
  assert.deepEqual([r.width, r.height], [384, 256]);
  const tall = resizeShortSide({ width: 300, height: 451, data: img.data }, 256, "bilinear");
  assert.deepEqual([tall.width, tall.height], [256, 384]);
});

test("squash mode resizes both sides to floor(size / crop_pct) and keeps the whole image", async () => {
  const img = await decodeImage(fixture("preprocess", "images", "rocket.jpg"));
  const out = evalTransform(img, { ...config, inputSize: 160, cropPct: 1.0, cropMode: "squash" });
  assert.deepEqual([out.resized.width, out.resized.height], [160, 160]);
  assert.deepEqual(out.uint8.data, out.resized.data);
  assert.deepEqual(out.tensor.dims, [3, 160, 160]);
});

test("an explicit resizeSize overrides crop_pct (torchvision's 236 → 224)", async () => {
  const img = await decodeImage(fixture("preprocess", "images", "astronaut.png"));
  const out = evalTransform(img, { ...config, interpolation: "bilinear", resizeSize: 236 });
  assert.deepEqual([out.resized.width, out.resized.height], [236, 236]);
  assert.deepEqual(out.tensor.dims, [3, 224, 224]);
});

test("center crop larger than the image zero-pads like torchvision", () => {
  const img = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const out = centerCrop(img, 3, 4);
  assert.deepEqual([out.width, out.height], [4, 3]);
  // Padding left (4-2)//2 = 1, top (3-1)//2 = 1.
  assert.deepEqual(Array.from(out.data.subarray((1 * 4 + 1) * 3, (1 * 4 + 3) * 3)), [1, 2, 3, 4, 5, 6]);
  assert.equal(
    out.data.reduce((a, b) => a + b, 0),
    21,
  );
});

test("batchTensors stacks (3,H,W) into (N,3,H,W) and names mismatched shapes", () => {
  const a = float32(
    [3, 2, 2],
    Float32Array.from({ length: 12 }, (_, i) => i),
  );
  const b = float32(
    [3, 2, 2],
    Float32Array.from({ length: 12 }, (_, i) => 100 + i),
  );
  const batch = batchTensors([a, b]);
  assert.deepEqual(batch.dims, [2, 3, 2, 2]);
  assert.equal(batch.data[12], 100);
  assert.throws(
    () => batchTensors([a, float32([3, 2, 3])]),
    /tensor 1 has shape \[3, 2, 3\], tensor 0 has \[3, 2, 2\]/,
  );
  assert.throws(() => batchTensors([]), /empty/);
});

test("bad input gets a one-line error", () => {
  assert.throws(
    () => evalTransform({ width: 2, height: 2, data: new Uint8Array(5) }, config),
    /2x2 RGB needs 12 bytes, got 5/,
  );
});
