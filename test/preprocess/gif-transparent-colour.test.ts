import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { gifTransparentColour } from "../../src/preprocess/gif-transparent-colour.ts";

/** The blocks before a GIF's pixel data: screen (4-entry global table), extensions, then an image descriptor. */
function gifHeader(opts: {
  transparentIndex?: number;
  localTable?: number[];
  comment?: boolean;
}): Uint8Array {
  const global = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
  const bytes = [...Buffer.from("GIF89a"), 2, 0, 2, 0, 0x81, 0, 0, ...global];
  if (opts.comment) bytes.push(0x21, 0xfe, 3, 1, 2, 3, 0); // a comment extension to skip
  if (opts.transparentIndex !== undefined) bytes.push(0x21, 0xf9, 4, 1, 0, 0, opts.transparentIndex, 0);
  const local = opts.localTable ?? [];
  bytes.push(0x2c, 0, 0, 0, 0, 2, 0, 2, 0, local.length ? 0x81 : 0, ...local, 2);
  return Uint8Array.from(bytes);
}

test("the transparent index's colour comes from the global table, or the first image's local one", () => {
  assert.deepEqual(gifTransparentColour(gifHeader({ transparentIndex: 2 })), [70, 80, 90]);
  assert.deepEqual(gifTransparentColour(gifHeader({ transparentIndex: 1, comment: true })), [40, 50, 60]);
  const local = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13];
  assert.deepEqual(gifTransparentColour(gifHeader({ transparentIndex: 3, localTable: local })), [11, 12, 13]);
  assert.equal(gifTransparentColour(gifHeader({})), undefined, "no transparency");
  assert.equal(gifTransparentColour(gifHeader({ transparentIndex: 9 })), undefined, "index past the table");
  assert.equal(gifTransparentColour(Uint8Array.from(Buffer.from("\x89PNG\r\n\x1a\n"))), undefined);
});

test("a GIF's transparent pixels decode to their palette colour, as PIL's convert('RGB') gives them", async () => {
  const rgba = Uint8Array.from([200, 10, 10, 255, 10, 200, 10, 0, 10, 10, 200, 255, 10, 200, 10, 0]);
  const gif = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
    .gif()
    .toBuffer();
  const colour = gifTransparentColour(gif);
  assert.ok(colour, "the encoder wrote a transparent index");
  const img = await decodeImage(gif);
  assert.deepEqual(Array.from(img.data.subarray(3, 6)), colour);
  assert.deepEqual(Array.from(img.data.subarray(9, 12)), colour);
  assert.deepEqual(Array.from(img.data.subarray(0, 3)), [200, 10, 10]);
  assert.deepEqual(Array.from(img.data.subarray(6, 9)), [10, 10, 200]);
});
