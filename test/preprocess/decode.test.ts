import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import {
  cmykToRgb,
  DEFAULT_MAX_PIXELS,
  decodeImage,
  xmpOrientation,
} from "../../src/preprocess/decode-node.ts";
import { fixture } from "../fixtures.ts";
import { compare, expectedU8, manifest } from "./expected.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-decode-");
const image = (name: string) => fixture("preprocess", "images", name);

test("JPEG decodes to PIL's pixels (rocket.jpg, ICC profile ignored)", async () => {
  const ours = await decodeImage(image("rocket.jpg"));
  const ref = expectedU8("rocket.decoded_uint8");
  assert.deepEqual([ours.height, ours.width, 3], ref.shape);
  const { maxAbs, nDiff } = compare(ours.data, ref.bytes);
  assert.equal(maxAbs, 0, `${nDiff} values differ from PIL`);
  // The check has teeth: sharp's default colour management moves this image by tens of levels.
  const managed = await sharp(image("rocket.jpg")).removeAlpha().raw().toBuffer();
  assert.ok(compare(managed, ref.bytes).maxAbs > 10);
});

test("a grey PNG becomes R = G = B", async () => {
  assert.equal(manifest.images["camera.png"].pil_mode, "L");
  const img = await decodeImage(image("camera.png"));
  assert.deepEqual([img.width, img.height], manifest.images["camera.png"].source_size_wh);
  const grey = await sharp(image("camera.png")).extractChannel(0).raw().toBuffer();
  for (let i = 0; i < grey.length; i++) {
    assert.ok(
      img.data[i * 3] === grey[i] && img.data[i * 3 + 1] === grey[i] && img.data[i * 3 + 2] === grey[i],
    );
  }
});

test("a palette PNG with tRNS gives its palette colours (alpha dropped, not composited)", async () => {
  const facts = manifest.images["foo3x5x4indexed.png"];
  assert.equal(facts.pil_mode, "P");
  const img = await decodeImage(image("foo3x5x4indexed.png"));
  assert.deepEqual([img.width, img.height], facts.source_size_wh);
  // The transparent entries keep their colour: sharp's RGBA decode has them, with alpha 0.
  const rgba = await sharp(image("foo3x5x4indexed.png")).ensureAlpha().raw().toBuffer();
  let transparent = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    assert.deepEqual(
      Array.from(img.data.subarray(i * 3, i * 3 + 3)),
      Array.from(rgba.subarray(i * 4, i * 4 + 3)),
    );
    if (rgba[i * 4 + 3] === 0) transparent++;
  }
  assert.ok(transparent > 0, "the fixture has transparent pixels");
});

test("RGBA and grey+alpha PNGs drop alpha without compositing", async () => {
  const rgba = Uint8Array.from([10, 20, 30, 0, 200, 100, 50, 128, 1, 2, 3, 255, 250, 251, 252, 7]);
  const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
    .png()
    .toBuffer();
  const img = await decodeImage(png);
  assert.deepEqual(Array.from(img.data), [10, 20, 30, 200, 100, 50, 1, 2, 3, 250, 251, 252]);

  const ga = Uint8Array.from([40, 0, 90, 255]);
  const gaPng = await sharp(ga, { raw: { width: 2, height: 1, channels: 2 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
  assert.equal((await sharp(gaPng).metadata()).channels, 2);
  assert.deepEqual(Array.from((await decodeImage(gaPng)).data), [40, 40, 40, 90, 90, 90]);
});

// 16-bit samples spanning the interesting boundaries of both of PIL's rules.
const SAMPLES16 = [0, 1, 127, 128, 255, 256, 257, 383, 384, 1000, 32767, 32768, 40000, 65279, 65280, 65535];

test("16-bit RGB(A) PNGs keep the high byte, as PIL's 'RGB;16B' unpacker", async () => {
  const rgb = Uint16Array.from({ length: 16 * 3 }, (_, i) => SAMPLES16[(i * 5) % 16]);
  const png = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } })
    .toColourspace("rgb16")
    .png()
    .toBuffer();
  assert.equal((await sharp(png).metadata()).depth, "ushort");
  assert.deepEqual(
    Array.from((await decodeImage(png)).data),
    Array.from(rgb, (v) => v >> 8),
  );

  const rgba = Uint16Array.from({ length: 16 * 4 }, (_, i) => SAMPLES16[(i * 3) % 16]);
  const png4 = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
    .toColourspace("rgb16")
    .png()
    .toBuffer();
  const want = Array.from({ length: 48 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)] >> 8);
  assert.deepEqual(Array.from((await decodeImage(png4)).data), want);
});

test("a 16-bit grey PNG saturates at 255, as PIL's 'I;16' → RGB conversion", async () => {
  const grey = Uint16Array.from(SAMPLES16);
  const png = await sharp(grey, { raw: { width: 4, height: 4, channels: 1 } })
    .toColourspace("grey16")
    .png()
    .toBuffer();
  const meta = await sharp(png).metadata();
  assert.equal(meta.depth, "ushort");
  assert.equal(meta.channels, 1);
  const img = await decodeImage(png);
  assert.deepEqual(
    Array.from(img.data),
    Array.from(grey).flatMap((v) => Array(3).fill(Math.min(v, 255))),
  );
});

test("CMYK JPEG converts with PIL's plain formula, not through an ICC profile", async () => {
  // PIL cmyk2rgb: nk = 255 - k; out = nk - MULDIV255(c, nk).
  assert.deepEqual(
    Array.from(cmykToRgb(Uint8Array.from([0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128, 64, 32, 64]))),
    [255, 255, 255, 0, 255, 255, 0, 0, 0, 95, 143, 167],
  );
  const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
  const jpg = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } })
    .toColourspace("cmyk")
    .jpeg()
    .toBuffer();
  assert.equal((await sharp(jpg).metadata()).space, "cmyk");
  const stored = await sharp(jpg).pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer();
  const ours = await decodeImage(jpg);
  assert.deepEqual(ours.data, cmykToRgb(stored));
  const managed = await sharp(jpg).toColourspace("srgb").raw().toBuffer();
  assert.ok(compare(ours.data, managed).maxAbs > 10, "colour-managed CMYK would differ");
});

test("WebP, GIF and TIFF decode losslessly to RGB", async () => {
  // Four colours, so the GIF palette holds them exactly.
  const colours = [
    [255, 0, 0],
    [0, 128, 255],
    [17, 34, 51],
    [250, 250, 250],
  ];
  const rgb = Uint8Array.from({ length: 6 * 5 * 3 }, (_, i) => colours[Math.floor(i / 3) % 4][i % 3]);
  const input = () => sharp(rgb, { raw: { width: 6, height: 5, channels: 3 } });
  for (const [fmt, bytes] of [
    ["webp", await input().webp({ lossless: true }).toBuffer()],
    ["gif", await input().gif().toBuffer()],
    ["tiff", await input().tiff({ compression: "none" }).toBuffer()],
  ] as const) {
    const img = await decodeImage(bytes, { name: `x.${fmt}` });
    assert.deepEqual([img.width, img.height], [6, 5], fmt);
    assert.deepEqual(img.data, rgb, fmt);
  }
});

test("EXIF orientation is ignored by default and applied with exifRotate", async () => {
  const rgb = Uint8Array.from({ length: 6 * 2 * 3 }, (_, i) => i);
  const png = await sharp(rgb, { raw: { width: 6, height: 2, channels: 3 } })
    .png()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const asStored = await decodeImage(png);
  assert.deepEqual([asStored.width, asStored.height], [6, 2]);
  assert.deepEqual(asStored.data, rgb);
  const rotated = await decodeImage(png, { exifRotate: true });
  assert.deepEqual([rotated.width, rotated.height], [2, 6]);
  // Orientation 6 = rotate 90° clockwise: the bottom-left source pixel lands top-left.
  assert.deepEqual(Array.from(rotated.data.subarray(0, 3)), Array.from(rgb.subarray(6 * 3, 6 * 3 + 3)));
});

test("a TIFF's Orientation tag is applied on decode, as PIL applies it while loading", async () => {
  const rgb = Uint8Array.from({ length: 6 * 2 * 3 }, (_, i) => i);
  const tiff = await sharp(rgb, { raw: { width: 6, height: 2, channels: 3 } })
    .tiff({ compression: "lzw" })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  for (const exifRotate of [false, true]) {
    const img = await decodeImage(tiff, { exifRotate });
    assert.deepEqual([img.width, img.height], [2, 6], `exifRotate ${exifRotate}`);
    assert.deepEqual(Array.from(img.data.subarray(0, 3)), Array.from(rgb.subarray(6 * 3, 6 * 3 + 3)));
  }
});

test("with exifRotate, an XMP tiff:Orientation counts when the EXIF has none, as in PIL's getexif()", async () => {
  const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 7) % 256);
  const raw = { raw: { width: 5, height: 3, channels: 3 as const } };
  const xmp = (o: number) =>
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="${o}"/></rdf:RDF></x:xmpmeta>`;
  for (let o = 2; o <= 8; o++) {
    const viaXmp = await sharp(rgb, raw).png().withXmp(xmp(o)).toBuffer();
    const viaExif = await sharp(rgb, raw).png().withMetadata({ orientation: o }).toBuffer();
    assert.deepEqual(
      await decodeImage(viaXmp, { exifRotate: true }),
      await decodeImage(viaExif, { exifRotate: true }),
      `orientation ${o}`,
    );
    assert.deepEqual((await decodeImage(viaXmp)).data, rgb, `orientation ${o} is ignored without exifRotate`);
  }
  assert.equal(xmpOrientation(Buffer.from("<tiff:Orientation>3</tiff:Orientation>")), 3);
  assert.equal(xmpOrientation(Buffer.from("<x:xmpmeta/>")), undefined);
});

/** A PNG written chunk by chunk: IHDR(width, height, bit depth, colour type), then `idat` as is. */
function handMadePng(
  width: number,
  height: number,
  bitDepth: number,
  colourType: number,
  idat: Buffer,
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, colourType, 0, 0, 0], 8);
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", Buffer.alloc(0))]);
}

/** A valid PNG signature and IHDR claiming huge dimensions, followed by nothing decodable. */
function hugeHeaderPng(width: number, height: number): Uint8Array {
  return handMadePng(width, height, 8, 2, Buffer.from([0x78, 0x9c]));
}

test("2-bit grey PNG scales like PIL's 'L;2' unpacker (v * 85)", async () => {
  // One row: filter byte 0, then the 2-bit samples 0, 1, 2, 3 packed in one byte.
  const png = handMadePng(4, 1, 2, 0, deflateSync(Buffer.from([0, 0b00011011])));
  const img = await decodeImage(png);
  assert.deepEqual(
    Array.from(img.data),
    [0, 85, 170, 255].flatMap((v) => [v, v, v]),
  );
});

test("the pixel limit is checked from the header, before decoding", async () => {
  const bomb = hugeHeaderPng(30000, 30000);
  assert.ok(30000 * 30000 > DEFAULT_MAX_PIXELS);
  await assert.rejects(decodeImage(bomb, { name: "bomb.png" }), (e: Error) => {
    assert.match(e.message, /^bomb\.png: 30000x30000 = 900000000 pixels exceeds the limit of 89478485/);
    return true;
  });
  // A real image over a lowered limit is refused; under it, it decodes.
  await assert.rejects(
    decodeImage(image("coffee.png"), { maxPixels: 1000 }),
    /600x400 = 240000 pixels exceeds the limit of 1000/,
  );
  assert.equal((await decodeImage(image("coffee.png"), { maxPixels: 240000 })).width, 600);
});

test("unreadable, empty, non-image and truncated files get one-line errors naming the file", async () => {
  const text = join(tmp, "notes.txt");
  writeFileSync(text, "these are not pixels\n");
  const empty = join(tmp, "empty.jpg");
  writeFileSync(empty, "");
  const cut = join(tmp, "cut.jpg");
  const rocket = readFileSync(image("rocket.jpg"));
  writeFileSync(cut, rocket.subarray(0, Math.floor(rocket.length / 2)));
  const cases: [string, RegExp][] = [
    [image("truncated.jpg"), /truncated\.jpg: corrupt or truncated image \(.+\)$/],
    [cut, /cut\.jpg: corrupt or truncated image \(.+\)$/],
    [empty, /empty\.jpg: empty file$/],
    [text, /notes\.txt: not an image \(.+\)$/],
    [join(tmp, "missing.png"), /missing\.png: cannot read image \(no such file or directory\)$/],
    [tmp, /: cannot read image: it is a directory$/],
  ];
  for (const [path, pattern] of cases) {
    await assert.rejects(decodeImage(path), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"), `multi-line: ${JSON.stringify(e.message)}`);
      return true;
    });
  }
  await assert.rejects(decodeImage(new Uint8Array(0), { name: "upload" }), { message: "upload: empty file" });
});
