import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpointFile, saveSafetensors, writeFileAtomic } from "../../src/checkpoint/load-node.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";
import { rejectsOneLine, tempDir } from "../helpers.ts";
import { global, op, pthArchive, str } from "./pickle-writer.ts";

const dir = tempDir("convnext-ckpt-");

const TIMM = fixture("models", "v1-small", "timm.safetensors");
const timm = parseSafetensors(new Uint8Array(readFileSync(TIMM))).tensors;

function f32Bits(t: HostTensor): Uint32Array {
  return new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
}

test("bfloat16 and float64 checkpoints load as the float32 values they encode", async () => {
  const bf16 = new Map<string, HostTensor>();
  const f64 = new Map<string, HostTensor>();
  for (const [k, t] of timm) {
    const bits = f32Bits(t);
    bf16.set(k, { dtype: "bfloat16", dims: t.dims, data: Uint16Array.from(bits, (b) => b >>> 16) });
    f64.set(k, { dtype: "float64", dims: t.dims, data: Float64Array.from(t.data as Float32Array) });
  }
  await saveSafetensors(join(dir, "bf16.safetensors"), bf16);
  await saveSafetensors(join(dir, "f64.safetensors"), f64);
  const fromBf16 = await loadCheckpointFile(join(dir, "bf16.safetensors"));
  const fromF64 = await loadCheckpointFile(join(dir, "f64.safetensors"));
  for (const [k, t] of timm) {
    // bfloat16 keeps the top 16 bits of each float32; float64 holds every float32 exactly.
    assert.deepEqual(
      f32Bits(fromBf16.tensors.get(k)!),
      f32Bits(t).map((b) => b & 0xffff0000),
      k,
    );
    assert.deepEqual(f32Bits(fromF64.tensors.get(k)!), f32Bits(t), k);
    assert.equal(fromF64.tensors.get(k)!.dtype, "float32");
  }
});

test("truncated files on disk fail with a one-line error naming the path", async () => {
  for (const name of ["official.pth", "timm.safetensors"]) {
    const full = readFileSync(fixture("models", "v1-small", name));
    for (const fraction of [0.001, 0.3, 0.97]) {
      const path = join(dir, `cut-${fraction}-${name}`);
      writeFileSync(path, full.subarray(0, Math.floor(full.length * fraction)));
      await rejectsOneLine(
        loadCheckpointFile(path),
        new RegExp(path.replaceAll(/[.*+?^${}()|[\]\\/]/g, "\\$&")),
      );
    }
  }
});

test("a hostile .pth on disk is refused and names the file", async () => {
  const sentinel = join(dir, "pwned");
  const pickle = Uint8Array.from([
    op.PROTO,
    2,
    ...global("os", "system"),
    ...str(`touch ${sentinel}`),
    op.TUPLE1,
    op.REDUCE,
    op.STOP,
  ]);
  const path = join(dir, "evil.pth");
  writeFileSync(path, pthArchive("evil", pickle));
  await rejectsOneLine(
    loadCheckpointFile(path),
    /^.*evil\.pth: refusing to load: pickle calls forbidden global 'os\.system'$/,
  );
  assert.equal(existsSync(sentinel), false);
});

test("missing files and folders without weights are clear errors", async () => {
  await rejectsOneLine(
    loadCheckpointFile(join(dir, "nope.safetensors")),
    /nope\.safetensors: no such file or directory/,
  );
  const empty = join(dir, "empty");
  mkdirSync(empty);
  await rejectsOneLine(
    loadCheckpointFile(empty),
    /empty: directory holds no model\.safetensors or pytorch_model\.bin/,
  );
});

test("an HF folder: config.json must agree with the weights; without it the head eps is HF's default 1e-12", async () => {
  const src = fixture("models", "v1-small", "hf");
  const config = JSON.parse(readFileSync(join(src, "config.json"), "utf8"));

  const wrong = join(dir, "hf-wrong");
  mkdirSync(wrong);
  copyFileSync(join(src, "model.safetensors"), join(wrong, "model.safetensors"));
  writeFileSync(join(wrong, "config.json"), JSON.stringify({ ...config, hidden_sizes: [8, 16, 24, 32] }));
  await rejectsOneLine(
    loadCheckpointFile(wrong),
    /config\.json: hidden_sizes \[8,16,24,32\] disagrees with the weights/,
  );

  const bare = join(dir, "hf-bare");
  mkdirSync(bare);
  copyFileSync(join(src, "model.safetensors"), join(bare, "model.safetensors"));
  const loaded = await loadCheckpointFile(bare);
  assert.equal(loaded.convention, "hf");
  assert.equal(loaded.config.headNormEps, 1e-12);
  assert.equal(loaded.labels, undefined);
});

test("a config.json beside a timm checkpoint is not read as an HF config", async () => {
  const folder = join(dir, "timm-hub");
  mkdirSync(folder);
  copyFileSync(TIMM, join(folder, "model.safetensors"));
  writeFileSync(
    join(folder, "config.json"),
    JSON.stringify({ architecture: "convnext_atto", num_classes: 1000 }),
  );
  const loaded = await loadCheckpointFile(folder);
  assert.equal(loaded.convention, "timm");
  assert.equal(loaded.config.headNormEps, 1e-6);
  assert.equal(loaded.config.numClasses, timm.get("head.fc.weight")!.dims[0]);
});

test("saveSafetensors writes atomically and the file reads back", async () => {
  const path = join(dir, "atomic", "out.safetensors");
  mkdirSync(join(dir, "atomic"));
  await saveSafetensors(path, timm, { format: "pt" });
  await saveSafetensors(path, timm, { format: "pt", step: "2" }); // overwrite in place
  const back = parseSafetensors(new Uint8Array(readFileSync(path)));
  assert.deepEqual(back.metadata, { format: "pt", step: "2" });
  assert.deepEqual(readFileSync(path), Buffer.from(serializeSafetensors(timm, { format: "pt", step: "2" })));
  assert.deepEqual(readdirSync(join(dir, "atomic")), ["out.safetensors"], "no temp files left behind");
});

test("a failed atomic write leaves neither the target nor a temp file", async () => {
  const folder = join(dir, "failing");
  mkdirSync(folder);
  const target = join(folder, "taken");
  mkdirSync(target); // renaming a file onto a non-empty directory fails after the temp file was written
  writeFileSync(join(target, "keep"), "x");
  await rejectsOneLine(writeFileAtomic(target, Uint8Array.of(1, 2, 3)), /^cannot write .*taken: /);
  assert.deepEqual(readdirSync(folder), ["taken"]);
  await rejectsOneLine(
    writeFileAtomic(join(dir, "no-such-dir", "x.bin"), Uint8Array.of(1)),
    /^cannot write .*no-such-dir/,
  );
});

test("the format is recognised from the bytes: legacy torch.save is named, safetensors never mistaken for it", async () => {
  const legacy = join(dir, "legacy.pth");
  // PROTO 2, LONG1 of torch's legacy magic number 0x1950a86a20f9469cfc6c, ...
  writeFileSync(
    legacy,
    Uint8Array.of(0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e),
  );
  await rejectsOneLine(
    loadCheckpointFile(legacy),
    /legacy\.pth: legacy .*re-save it with torch\.save.s default zip format/,
  );
  // A safetensors file whose header length starts with the byte 0x80 (the pickle PROTO opcode).
  let metadata = "";
  let file = serializeSafetensors(timm);
  while (file[0] !== 0x80) {
    metadata += "x";
    file = serializeSafetensors(timm, { pad: metadata });
  }
  const path = join(dir, "starts-0x80.safetensors");
  writeFileSync(path, file);
  assert.equal((await loadCheckpointFile(path)).tensors.size, timm.size);
});
