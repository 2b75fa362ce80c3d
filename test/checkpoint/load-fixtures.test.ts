// Every checkpoint of every case in the models manifest loads to timm's key set, shapes and bit-identical values,
// and the architecture read off the weights is the manifest's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { Convention } from "../../src/checkpoint/conventions.ts";
import { inferConfig } from "../../src/checkpoint/infer-architecture.ts";
import { loadCheckpointFile } from "../../src/checkpoint/load-node.ts";
import { readCheckpointBytes } from "../../src/checkpoint/read-bytes.ts";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { toFloat32 } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";

interface Architecture {
  version: "V1" | "V2";
  dims: number[];
  depths: number[];
  kernel: number;
  patch_size: number;
  conv_mlp: boolean;
  grn: boolean;
  layer_scale: boolean;
  mlp_ratio: number;
  num_classes: number;
  eps: { head_norm: number; head_norm_hf?: number; block_norm: number };
}
interface Case {
  architecture: Architecture;
  files: { path: string }[];
}
const manifest = JSON.parse(readFileSync(fixture("models", "manifest.json"), "utf8")) as {
  cases: Record<string, Case>;
};

/** The checkpoint files a case lists (not its reference outputs or configs), with the convention each is in. */
function checkpoints(c: Case): { path: string; convention: Convention }[] {
  const out: { path: string; convention: Convention }[] = [];
  for (const { path } of c.files) {
    if (path === "timm.safetensors") out.push({ path, convention: "timm" });
    else if (path.endsWith(".pth")) out.push({ path, convention: path.replace(/\.pth$/, "") as Convention });
    else if (path === "hf/model.safetensors") {
      out.push({ path, convention: "hf" });
      out.push({ path: "hf", convention: "hf" }); // the save_pretrained folder itself
    }
  }
  return out;
}

function sameArchitecture(a: Architecture, b: Architecture): boolean {
  const pick = (x: Architecture) => [
    x.version,
    x.dims,
    x.depths,
    x.kernel,
    x.patch_size,
    x.conv_mlp,
    x.grn,
    x.layer_scale,
    x.mlp_ratio,
    x.num_classes,
  ];
  return JSON.stringify(pick(a)) === JSON.stringify(pick(b));
}

/** timm.safetensors of the case, or (for keys and shapes only) of another case with the same architecture. */
function reference(name: string): { tensors: Map<string, HostTensor>; sameWeights: boolean } {
  const own = manifest.cases[name];
  const donor = own.files.some((f) => f.path === "timm.safetensors")
    ? name
    : Object.keys(manifest.cases).find(
        (other) =>
          manifest.cases[other].files.some((f) => f.path === "timm.safetensors") &&
          sameArchitecture(manifest.cases[other].architecture, own.architecture),
      );
  assert.ok(donor, `no timm.safetensors with the architecture of ${name}`);
  const bytes = new Uint8Array(readFileSync(fixture("models", donor, "timm.safetensors")));
  return { tensors: parseSafetensors(bytes).tensors, sameWeights: donor === name };
}

function bits(t: HostTensor): Uint32Array {
  const f = toFloat32(t).data;
  return new Uint32Array(f.buffer, f.byteOffset, f.length);
}

for (const [name, c] of Object.entries(manifest.cases)) {
  const list = checkpoints(c);
  test(`${name}: the manifest lists at least one checkpoint`, () => assert.ok(list.length > 0));
  for (const { path, convention } of list) {
    test(`${name}/${path} loads as ${convention} with timm's keys, shapes and values`, async () => {
      const loaded = await loadCheckpointFile(fixture("models", name, path));
      assert.equal(loaded.convention, convention);
      const ref = reference(name);
      assert.deepEqual([...loaded.tensors.keys()].sort(), [...ref.tensors.keys()].sort());
      for (const [key, want] of ref.tensors) {
        const got = loaded.tensors.get(key)!;
        assert.equal(got.dtype, "float32", key);
        assert.deepEqual(got.dims, want.dims, key);
        if (ref.sameWeights) assert.deepEqual(bits(got), bits(want), `${key} is bit-identical to timm's`);
      }

      const a = c.architecture;
      const cfg = loaded.config;
      assert.equal(cfg.version, a.version === "V2" ? 2 : 1);
      assert.deepEqual(cfg.dims, a.dims);
      assert.deepEqual(cfg.depths, a.depths);
      assert.equal(cfg.kernelSize, a.kernel);
      assert.equal(cfg.patchSize, a.patch_size);
      assert.equal(cfg.convMlp, a.conv_mlp);
      assert.equal(cfg.mlpRatio, a.mlp_ratio);
      assert.equal(cfg.numClasses, a.num_classes);
      assert.equal(cfg.layerScaleInit !== null, a.layer_scale);
      assert.equal(cfg.inChans, 3);
      assert.equal(cfg.normEps, a.eps.block_norm);
      // NOTE: HF's config eps applies to the head LN only; hf-eps relies on HF's default 1e-12 there.
      const headEps = convention === "hf" ? (a.eps.head_norm_hf ?? a.eps.head_norm) : a.eps.head_norm;
      assert.equal(cfg.headNormEps, headEps);
      if (name === "hf-eps") assert.equal(cfg.headNormEps, 1e-12);
      if (convention === "hf") assert.equal(loaded.labels?.length, a.num_classes);
    });
  }
}

test("a headless checkpoint infers numClasses 0", () => {
  const { tensors } = parseSafetensors(
    new Uint8Array(readFileSync(fixture("models", "v1-small", "timm.safetensors"))),
  );
  tensors.delete("head.fc.weight");
  tensors.delete("head.fc.bias");
  assert.equal(inferConfig(tensors).numClasses, 0);
});

test("inferConfig names the missing tensor when the weights are not a ConvNeXt", () => {
  assert.throws(
    () => inferConfig(new Map(), "x.safetensors"),
    /^Error: x\.safetensors: cannot infer the ConvNeXt architecture: stem\.0\.weight is missing$/,
  );
});

test("checkpoint bytes handed over as a Node Buffer read the same tensors as a plain Uint8Array", () => {
  // Buffer's own slice() is a view, not a copy: the tensors must still come from their own offsets.
  for (const file of ["official.pth", "timm.safetensors"]) {
    const path = fixture("models", "v1-small", file);
    const fromBuffer = readCheckpointBytes(readFileSync(path), { source: path }).tensors;
    const fromArray = readCheckpointBytes(new Uint8Array(readFileSync(path)), { source: path }).tensors;
    assert.equal(fromBuffer.size, fromArray.size);
    for (const [name, t] of fromArray) {
      const b = fromBuffer.get(name);
      assert.ok(b, `${file}: ${name} missing`);
      assert.deepEqual(Array.from(b.data.slice(0, 64)), Array.from(t.data.slice(0, 64)), `${file}: ${name}`);
    }
  }
});
