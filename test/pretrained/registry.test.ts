import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  DEFAULT_TAGS,
  hashPrefixOf,
  listPretrained,
  PRETRAINED,
  resolvePretrained,
} from "../../src/pretrained/registry.ts";
import { fixture } from "../fixtures.ts";

const manifest = JSON.parse(readFileSync(fixture("preprocess", "manifest.json"), "utf8"));

test("convnext_tiny.fb_in1k carries the data config timm gave the preprocessing fixtures", () => {
  const dc = manifest.data_config;
  assert.equal(manifest.timm_model, "convnext_tiny.fb_in1k");
  const p = resolvePretrained(manifest.timm_model).preprocess;
  assert.deepEqual([3, p.inputSize, p.inputSize], dc.input_size);
  assert.equal(p.interpolation, dc.interpolation);
  assert.deepEqual(p.mean, dc.mean);
  assert.deepEqual(p.std, dc.std);
  assert.equal(p.cropPct, dc.crop_pct);
  assert.equal(p.cropMode, dc.crop_mode);
});

test("a plain architecture resolves to timm's default tag (the first listed)", () => {
  // The fixtures note timm's default convnext_tiny is in12k_ft_in1k with crop_pct 0.95.
  const tiny = resolvePretrained("convnext_tiny");
  assert.equal(tiny.name, "convnext_tiny.in12k_ft_in1k");
  assert.equal(tiny.preprocess.cropPct, 0.95);
  assert.equal(resolvePretrained("convnext_base").tag, "fb_in22k_ft_in1k");
  assert.equal(resolvePretrained("convnext_atto").tag, "d2_in1k");
  assert.equal(resolvePretrained("convnextv2_tiny").tag, "fcmae_ft_in22k_in1k");
  assert.equal(resolvePretrained("convnextv2_atto").tag, "fcmae_ft_in1k");
  assert.equal(resolvePretrained("convnextv2_huge").tag, "fcmae_ft_in22k_in1k_384");
  for (const [arch, tag] of DEFAULT_TAGS) {
    assert.equal(PRETRAINED.find((e) => e.arch === arch)?.tag, tag);
  }
  assert.equal(resolvePretrained("timm/convnext_small.fb_in1k").name, "convnext_small.fb_in1k");
});

test("unknown names get a one-line error listing close names", () => {
  assert.throws(
    () => resolvePretrained("convnext_tiny.fb_in1kk"),
    (e: Error) =>
      !e.message.includes("\n") &&
      /unknown pretrained weights 'convnext_tiny\.fb_in1kk'.*convnext_tiny\.fb_in1k[,\s]/.test(e.message),
  );
  assert.throws(() => resolvePretrained("convnxt_small"), /closest: .*convnext_small/);
});

test("the table covers the V1, V2 and torchvision weights asked for", () => {
  const names = new Set(listPretrained());
  assert.equal(names.size, PRETRAINED.length, "names are unique");
  for (const size of ["tiny", "small", "base", "large"]) {
    for (const tag of ["fb_in1k", "fb_in22k", "fb_in22k_ft_in1k", "fb_in22k_ft_in1k_384", "tv_in1k"]) {
      assert.ok(names.has(`convnext_${size}.${tag}`), `convnext_${size}.${tag}`);
    }
  }
  for (const tag of ["fb_in22k", "fb_in22k_ft_in1k", "fb_in22k_ft_in1k_384"])
    assert.ok(names.has(`convnext_xlarge.${tag}`));
  for (const size of ["atto", "femto", "pico", "nano", "tiny", "base", "large", "huge"]) {
    assert.ok(names.has(`convnextv2_${size}.fcmae_ft_in1k`), size);
  }
  for (const size of ["nano", "tiny", "base", "large"]) {
    assert.ok(names.has(`convnextv2_${size}.fcmae_ft_in22k_in1k`));
    assert.ok(names.has(`convnextv2_${size}.fcmae_ft_in22k_in1k_384`));
  }
});

test("every entry is consistent: licence, labels, sources, preprocessing", () => {
  for (const e of PRETRAINED) {
    assert.equal(e.name, `${e.arch}.${e.tag}`);
    assert.equal(e.version, e.arch.startsWith("convnextv2_") ? 2 : 1, e.name);
    if (e.version === 2) assert.equal(e.license, "CC-BY-NC-4.0", e.name);
    if (e.tag.startsWith("fb_")) assert.equal(e.license, "MIT", e.name);
    if (e.tag === "tv_in1k") {
      assert.equal(e.license, "BSD-3-Clause");
      assert.equal(e.preprocess.interpolation, "bilinear");
      assert.ok([236, 230, 232].includes(e.preprocess.resizeSize ?? 0), e.name);
      assert.equal(e.files[0].keys, "torchvision");
    } else {
      assert.equal(e.preprocess.interpolation, "bicubic", e.name);
      assert.equal(e.hfHubId, `timm/${e.name}`);
      assert.equal(e.files[0].format, "safetensors");
    }
    assert.equal(e.labels === "in22k", e.numClasses === 21841, e.name);
    assert.ok(e.labels === "in22k" || e.numClasses === 1000, e.name);
    assert.ok(e.files.length > 0);
    for (const f of e.files) {
      assert.match(f.url, /^https:\/\//);
      assert.equal(f.format, f.url.endsWith(".safetensors") ? "safetensors" : "pth", f.url);
      if (f.sha256 !== undefined) assert.match(f.sha256, /^[0-9a-f]{64}$/);
      if (f.sha256Prefix !== undefined) assert.ok(f.url.includes(`-${f.sha256Prefix}.`));
      if (f.url.startsWith("https://dl.fbaipublicfiles.com/")) {
        assert.equal(f.sha256, undefined, "no published digest for the official files");
        assert.equal(f.keys, "official");
      }
    }
    const size = e.preprocess.inputSize as number;
    if (size >= 384 && e.tag.includes("_384")) assert.equal(e.preprocess.cropMode, "squash", e.name);
    if (e.preprocess.cropMode === "squash") assert.equal(e.preprocess.cropPct, 1.0, e.name);
  }
});

test("digests come only from where they are published: torch.hub file names and the Hub's LFS pointers", () => {
  // torch.hub's rule: `-([a-f0-9]*)\.` in the file name, eight or more digits.
  assert.equal(hashPrefixOf("https://download.pytorch.org/models/convnext_tiny-983f1562.pth"), "983f1562");
  assert.equal(hashPrefixOf("https://x/y-z/convnext_tiny_1k_224_ema.pth"), undefined);
  assert.equal(hashPrefixOf("https://x/model-abc.pth"), undefined);
  let prefixes = 0;
  for (const e of PRETRAINED) {
    for (const f of e.files) {
      assert.equal(f.sha256Prefix, hashPrefixOf(f.url), f.url);
      if (f.sha256Prefix) prefixes++;
      // Full digests are the Hub's, for its safetensors files.
      if (f.sha256) assert.match(f.url, /^https:\/\/huggingface\.co\/timm\/.*\/model\.safetensors$/);
    }
    // Every entry is checked on download: a digest in the table, or the Hub's X-Linked-Etag.
    assert.ok(e.hfHubId !== undefined || e.files.some((f) => f.sha256 ?? f.sha256Prefix), e.name);
  }
  assert.equal(prefixes, 8);
});
