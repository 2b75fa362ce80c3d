// Images that are cheap to write and costly to decode or resize are refused from their header.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { resizeShortSide } from "../../src/preprocess/transform.ts";
import { assertOneLineError, rejectsOneLine, tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-hostile-img-");

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>`;

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#808080" } })
    .png()
    .toBuffer();
}

test("SVG is refused by its content, also under a .png name", async () => {
  const disguised = join(tmp, "vector.png");
  writeFileSync(disguised, SVG);
  await rejectsOneLine(decodeImage(disguised), /vector\.png: svg images are not accepted/);
  await rejectsOneLine(decodeImage(new TextEncoder().encode(SVG), { name: "upload" }), /^upload: svg images/);
});

test("an extreme aspect ratio is refused before decoding, though under the pixel limit", async () => {
  const thin = join(tmp, "thin.png");
  writeFileSync(thin, await png(1_000_000, 1));
  await rejectsOneLine(
    decodeImage(thin),
    /thin\.png: 1000000x1 has an aspect ratio of 1000000:1, over the limit of 200:1/,
  );
  assert.equal((await decodeImage(await png(400, 2))).width, 400);
});

test("maxPixels NaN, zero or negative is refused instead of switching the pixel checks off", async () => {
  const small = await png(4, 4);
  for (const maxPixels of [Number.NaN, 0, -5]) {
    await rejectsOneLine(decodeImage(small, { maxPixels }), /^maxPixels must be a positive number/);
  }
  assert.equal((await decodeImage(small, { maxPixels: 16 })).height, 4);
  await rejectsOneLine(
    decodeImage(small, { maxPixels: 15, name: "s" }),
    /^s: 4x4 = 16 pixels exceeds the limit of 15/,
  );
});

test("/dev/zero as an image is refused at once", async () => {
  await rejectsOneLine(decodeImage("/dev/zero"), /^\/dev\/zero: cannot read image: it is a device/);
});

test("a resize whose output would exceed the pixel limit is refused before it allocates", () => {
  const row = { width: 200, height: 1, data: new Uint8Array(600) };
  assertOneLineError(
    () => resizeShortSide(row, 100_000, "bilinear"),
    /^resizing 200x1 to 20000000x100000 exceeds the limit of 89478485 pixels/,
  );
  assert.deepEqual(resizeShortSide(row, 2, "bilinear").width, 400);
});
