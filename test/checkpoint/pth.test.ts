import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { zipSync } from "fflate";
import { readPth } from "../../src/checkpoint/pth.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { assertOneLineError } from "../helpers.ts";
import { LEGACY_TORCH_SAVE, bytes, op, pthArchive, str, tensorRef } from "./pickle-writer.ts";

const OFFICIAL = fixture("models", "v1-small", "official.pth");
const TORCHVISION = fixture("models", "v1-small", "torchvision.pth");

test("official.pth is {'model': OrderedDict} of float32 tensors holding timm's values", () => {
  const tree = readPth(new Uint8Array(readFileSync(OFFICIAL)), "official.pth");
  assert.ok(tree instanceof Map);
  assert.deepEqual([...tree.keys()], ["model"]);
  const model = tree.get("model") as Map<string, HostTensor>;
  const timm = parseSafetensors(
    new Uint8Array(readFileSync(fixture("models", "v1-small", "timm.safetensors"))),
  ).tensors;
  assert.equal(model.size, timm.size);
  // Same module, same values: the stem conv has the same name pattern-free meaning in both.
  const stem = model.get("downsample_layers.0.0.weight")!;
  assert.equal(stem.dtype, "float32");
  assert.deepEqual(stem.dims, timm.get("stem.0.weight")!.dims);
  assert.deepEqual(stem.data, timm.get("stem.0.weight")!.data);
});

test("torchvision.pth is a bare OrderedDict", () => {
  const tree = readPth(new Uint8Array(readFileSync(TORCHVISION)), "torchvision.pth") as Map<
    string,
    HostTensor
  >;
  assert.ok(tree instanceof Map);
  assert.ok(tree.has("features.0.0.weight"));
  assert.deepEqual(tree.get("features.1.0.layer_scale")!.dims, [16, 1, 1]);
});

test("a truncated .pth fails with a one-line error naming the file at every cut", () => {
  const file = new Uint8Array(readFileSync(OFFICIAL));
  for (const cut of [
    0,
    3,
    30,
    4000,
    file.length >> 1,
    file.length - 100,
    file.length - 22,
    file.length - 1,
  ]) {
    assertOneLineError(() => readPth(file.subarray(0, cut), "official.pth"), /^official\.pth: /);
  }
});

test("a zip without data.pkl is not a checkpoint", () => {
  const zip = zipSync(
    {
      "model/weights.bin": new Uint8Array(8),
      "model/version": new TextEncoder().encode("3\n"),
    },
    { level: 0 },
  );
  assertOneLineError(
    () => readPth(zip, "nodata.pth"),
    /^nodata\.pth: zip archive has no <folder>\/data\.pkl entry/,
  );
});

test("a legacy (pre-zip) torch.save file gets a clear 're-save' error", () => {
  // Legacy files start with a protocol-2 pickle of torch's magic number 0x1950a86a20f9469cfc6c.
  const legacy = LEGACY_TORCH_SAVE;
  assertOneLineError(
    () => readPth(legacy, "old.pth"),
    /^old\.pth: legacy .*not supported; re-save it with torch\.save.s default zip format/,
  );
  assertOneLineError(
    () => readPth(new TextEncoder().encode("hello"), "text.pth"),
    /^text\.pth: not a PyTorch checkpoint/,
  );
});

test("the archive folder is found from data.pkl, whatever its name", () => {
  const pickle = bytes(
    op.PROTO,
    2,
    op.EMPTY_DICT,
    str("w"),
    tensorRef("HalfStorage", "3", 2, 0, [2], [1]),
    op.SETITEM,
    op.STOP,
  );
  const tree = readPth(
    pthArchive("renamed_archive", pickle, { "3": new Uint8Array(Uint16Array.of(0x3c00, 0xbc00).buffer) }),
  );
  const w = (tree as Map<string, HostTensor>).get("w")!;
  assert.equal(w.dtype, "float16");
  assert.deepEqual([...w.data], [0x3c00, 0xbc00]);
});

test("a TorchScript archive is named as such", () => {
  const files = {
    "m/data.pkl": Uint8Array.of(op.PROTO, 2, op.NONE, op.STOP),
    "m/constants.pkl": new Uint8Array(1),
  };
  assertOneLineError(
    () => readPth(zipSync(files, { level: 0 }), "jit.pt"),
    /^jit\.pt: this is a TorchScript archive/,
  );
});
