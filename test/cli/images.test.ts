// The image commands end to end: preprocess (PIL-exact), classify (bad files, JSON, --weights, pretrained by
// name from a local server, licence notice), embed (equal to model.forward), and the bundled model.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { BUNDLED_MODEL_PATH } from "../../src/api/model-source-node.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { FeatureName } from "../../src/models/convnext.ts";
import { initParams } from "../../src/models/init.ts";
import { modelConfig } from "../../src/models/variants.ts";
import { ConvNeXtModel } from "../../src/node/model.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { batchTensors, evalTransform } from "../../src/preprocess/transform.ts";
import { loadLabels } from "../../src/pretrained/labels-node.ts";
import { resolvePretrained } from "../../src/pretrained/registry.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { Rng } from "../../src/train/rng.ts";
import { fixture } from "../fixtures.ts";
import { maxAbsDiff, readTensors, tempDir } from "../helpers.ts";
import { compare, expectedF32, expectedU8, manifest } from "../preprocess/expected.ts";
import { CLI_FROM_SOURCE, type CliResult } from "./run-cli.ts";

const tmp = tempDir("convnext-images-");

/** Runs the command without blocking this process (the local HTTP server must keep answering). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_FROM_SOURCE, ...args], {
      env: { ...process.env, CONVNEXT_DEBUG: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const images = Object.entries<any>(manifest.images).filter(([, f]) => f.decodable);
const imagePath = (file: string) => fixture("preprocess", "images", file);
const V1_SMALL = fixture("models", "v1-small", "timm.safetensors");
const FB_IN1K = resolvePretrained("convnext_tiny.fb_in1k").preprocess;

const stderrLines = (r: CliResult) => r.stderr.split("\n").filter(Boolean);

/** Reference probabilities: the fixture-exact preprocessing, model.forward, softmax in double. */
async function referenceProbs(weights: string, files: string[]): Promise<number[][]> {
  const model = await ConvNeXtModel.load(weights, { threads: 1 });
  const x = batchTensors(
    await Promise.all(files.map(async (f) => evalTransform(await decodeImage(f), FB_IN1K).tensor)),
  );
  const { logits } = await model.forward(x, ["logits"]);
  await model.release();
  const k = logits.dims[1];
  return files.map((_, i) => {
    const row = Array.from((logits.data as Float32Array).subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

test("preprocess writes PIL's uint8 exactly and timm's tensor (as x, N=1) within 1e-6, for every fixture image", async () => {
  const results = await Promise.all(
    images.map(async ([file]) => {
      const out = join(tmp, `pre-${file}.safetensors`);
      const r = await cli([
        "preprocess",
        imagePath(file),
        "--model",
        "convnext_tiny.fb_in1k",
        "--output",
        out,
      ]);
      return { file, out, r };
    }),
  );
  for (const { file, out, r } of results) {
    assert.equal(r.code, 0, r.stderr);
    const stem = file.replace(/\.[a-z]+$/, "");
    const got = readTensors(out);
    const u8 = got.get("uint8") as HostTensor;
    assert.equal(u8.dtype, "uint8");
    assert.deepEqual(u8.dims, [1, ...expectedU8(`${stem}.uint8`).shape]);
    const du8 = compare(u8.data as Uint8Array, expectedU8(`${stem}.uint8`).bytes);
    assert.equal(du8.maxAbs, 0, `${file}: uint8 differs on ${du8.nDiff} values`);
    const t = got.get("x") as HostTensor;
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.dims, [1, 3, 224, 224]);
    const dt = compare(t.data as Float32Array, expectedF32(`${stem}.tensor`));
    assert.ok(dt.maxAbs <= 1e-6, `${file}: tensor max diff ${dt.maxAbs}`);
  }
});

test("classify on a directory skips the bad files, names them, and classifies the rest", async () => {
  const dir = join(tmp, "mixed");
  mkdirSync(join(dir, "sub"), { recursive: true });
  for (const [file] of images) copyFileSync(imagePath(file), join(dir, "sub", file));
  copyFileSync(imagePath("truncated.jpg"), join(dir, "truncated.jpg"));
  writeFileSync(join(dir, "notes.png"), "this is text, not a PNG\n");
  writeFileSync(join(dir, "readme.txt"), "not an image extension: never looked at\n");
  execFileSync("mkfifo", [join(dir, "pipe.png")]); // read, it would wait for a writer forever
  symlinkSync("/dev/zero", join(dir, "zero.png"));
  const r = await cli(["classify", dir, "--weights", V1_SMALL, "--json", "--top", "3", "--threads", "1"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = stderrLines(r);
  assert.equal(lines.length, 4, r.stderr);
  assert.match(
    lines.find((l) => l.includes("pipe.png")) ?? "",
    /^skipped .*pipe\.png: cannot read image: it is a pipe/,
  );
  assert.match(
    lines.find((l) => l.includes("zero.png")) ?? "",
    /^skipped .*zero\.png: cannot read image: it is a device/,
  );
  assert.match(
    lines.find((l) => l.includes("truncated.jpg")) ?? "",
    /^skipped .*truncated\.jpg: corrupt or truncated/,
  );
  assert.match(lines.find((l) => l.includes("notes.png")) ?? "", /^skipped .*notes\.png: not an image/);
  assert.ok(!r.stderr.includes("readme.txt"));
  const results = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    results.map((x) => basename(x.file)),
    images.map(([f]) => f).sort(),
  );
});

test("a single bad file given directly exits non-zero with one line naming it", async () => {
  for (const bad of [imagePath("truncated.jpg"), join(tmp, "missing.jpg")]) {
    const r = await cli(["classify", bad, "--weights", V1_SMALL]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, "");
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith(`convnext: ${bad}: `), lines[0]);
  }
});

test("classify --json with --weights: 'class i' labels, sorted top-k equal to softmax(model.forward)", async () => {
  const files = images.map(([f]) => imagePath(f));
  const r = await cli(["classify", ...files, "--weights", V1_SMALL, "--json", "--top", "4", "--batch", "4"]);
  assert.equal(r.code, 0, r.stderr);
  const results = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    results.map((x) => x.file),
    files,
  );
  const ref = await referenceProbs(V1_SMALL, files);
  results.forEach((res, i) => {
    assert.equal(res.top.length, 4);
    let sum = 0;
    res.top.forEach((p: { label: string; index: number; prob: number }, j: number) => {
      assert.equal(p.label, `class ${p.index}`);
      if (j > 0) assert.ok(p.prob <= res.top[j - 1].prob, "sorted");
      assert.ok(Math.abs(p.prob - ref[i][p.index]) <= 1e-6, `${res.file} class ${p.index}`);
      sum += p.prob;
    });
    assert.ok(sum <= 1 + 1e-9, `sum ${sum}`);
    // The k shown are the k largest.
    const kth = [...ref[i]].sort((a, b) => b - a)[3];
    assert.ok(res.top[3].prob >= kth - 1e-6);
  });
});

test("embed: safetensors holds each feature stacked over the images, equal to model.forward; jsonl agrees", async () => {
  const files = [imagePath("chelsea.png"), imagePath("rocket.jpg"), imagePath("camera.png")];
  const out = join(tmp, "emb.safetensors");
  const features = ["pre_logits", "stage3", "stem"];
  const r = await cli([
    "embed",
    ...files,
    "--weights",
    V1_SMALL,
    "--features",
    features.join(","),
    "--output",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(out)), out);
  assert.deepEqual(JSON.parse(metadata.files), files);

  const model = await ConvNeXtModel.load(V1_SMALL, { threads: 1 });
  const x = batchTensors(
    await Promise.all(files.map(async (f) => evalTransform(await decodeImage(f), FB_IN1K).tensor)),
  );
  const ref = await model.forward(x, features as FeatureName[]);
  await model.release();
  for (const f of features) {
    const got = tensors.get(f) as HostTensor;
    assert.deepEqual(got.dims, ref[f].dims, f);
    assert.ok(maxAbsDiff(got, ref[f]) <= 1e-5, f);
  }

  const jsonl = join(tmp, "emb.jsonl");
  const r2 = await cli([
    "embed",
    ...files,
    "--weights",
    V1_SMALL,
    "--features",
    "pre_logits,stage3",
    "--output",
    jsonl,
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  const lines = readFileSync(jsonl, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.file),
    files,
  );
  const [c, h, w] = ref.stage3.dims.slice(1);
  lines.forEach((l, i) => {
    assert.deepEqual([l.stage3.length, l.stage3[0].length, l.stage3[0][0].length], [c, h, w]);
    const flat = Float32Array.from(l.stage3.flat(2) as number[]);
    const want = (ref.stage3.data as Float32Array).subarray(i * c * h * w, (i + 1) * c * h * w);
    assert.ok(flat.every((v, j) => Math.abs(v - want[j]) <= 1e-5));
    assert.equal(l.pre_logits.length, ref.pre_logits.dims[1]);
  });
});

test("a 1-channel model with preprocess metadata: PIL 'L' input normalised with its one mean/std", async () => {
  // camera.png is greyscale, so PIL's L equals its stored values and the fixture's channel 0 (mean .485, std
  // .229) is what a 1-channel model with that normalisation must see.
  const cfg = modelConfig("convnext_atto", {
    inChans: 1,
    numClasses: 3,
    dims: [8, 16, 24, 32],
    depths: [1, 1, 1, 1],
  });
  const rng = new Rng(3);
  const weights = join(tmp, "grey.safetensors");
  const meta = {
    preprocess: JSON.stringify({
      inputSize: 224,
      interpolation: "bicubic",
      mean: [0.485],
      std: [0.229],
      cropPct: 0.875,
    }),
    labels: JSON.stringify(["alpha", "beta", "gamma"]),
  };
  writeFileSync(
    weights,
    serializeSafetensors(
      initParams(cfg, () => rng.normal()),
      meta,
    ),
  );
  const out = join(tmp, "grey-pre.safetensors");
  const r = await cli(["preprocess", imagePath("camera.png"), "--weights", weights, "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  const t = readTensors(out).get("x") as HostTensor;
  assert.deepEqual(t.dims, [1, 1, 224, 224]);
  const d = compare(t.data as Float32Array, expectedF32("camera.tensor").subarray(0, 224 * 224));
  assert.ok(d.maxAbs <= 1e-6, `max diff ${d.maxAbs}`);

  const c = await cli(["classify", imagePath("chelsea.png"), "--weights", weights, "--json", "--top", "3"]);
  assert.equal(c.code, 0, c.stderr);
  const top = JSON.parse(c.stdout).top as { label: string }[];
  assert.deepEqual(top.map((p) => p.label).sort(), ["alpha", "beta", "gamma"]);
});

test("without --model/--weights classify uses the bundled Fashion-MNIST model (or says it is missing)", async () => {
  const r = await cli(["classify", imagePath("coffee.png"), "--json"]);
  if (!existsSync(BUNDLED_MODEL_PATH)) {
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(BUNDLED_MODEL_PATH), r.stderr);
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  const { metadata } = parseSafetensors(new Uint8Array(readFileSync(BUNDLED_MODEL_PATH)));
  const labels = JSON.parse(metadata.labels) as string[];
  const top = JSON.parse(r.stdout).top as { label: string; index: number }[];
  for (const p of top) assert.equal(p.label, labels[p.index]);
});

// Pretrained weights by name, from a server on 127.0.0.1 standing in for the Hugging Face Hub (HF_ENDPOINT).
const served = new Map<string, Uint8Array>();
const requests: string[] = [];
const server = createServer((req, res) => {
  requests.push(req.url ?? "");
  const body = served.get(req.url ?? "");
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-length": body.length }).end(body);
});
let endpoint = "";
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test("classify --model downloads by name (cache, offline re-use), with ImageNet labels; V2 prints its licence", async () => {
  const cache = join(tmp, "cache");
  const env = { CONVNEXT_CACHE: cache, HF_ENDPOINT: endpoint, CONVNEXT_OFFLINE: "", HF_HUB_OFFLINE: "" };
  const v1 = "convnext_atto.d2_in1k";
  served.set(
    `/timm/${v1}/resolve/main/model.safetensors`,
    readFileSync(fixture("models", "v1-atto", "timm.safetensors")),
  );
  const names = loadLabels("in1k").names;

  const r = await cli(["classify", imagePath("chelsea.png"), "--model", v1, "--json"], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(requests, [`/timm/${v1}/resolve/main/model.safetensors`]);
  assert.ok(existsSync(join(cache, v1, "model.safetensors")));
  assert.ok(!r.stderr.includes("CC-BY-NC"));
  const top = JSON.parse(r.stdout).top as { label: string; index: number }[];
  assert.equal(top.length, 5);
  for (const p of top) assert.equal(p.label, names[p.index]);

  const again = await cli(["classify", imagePath("chelsea.png"), "--model", v1, "--json", "--offline"], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(requests.length, 1, "served from the cache");
  assert.equal(again.stdout, r.stdout);

  const v2 = "convnextv2_atto.fcmae_ft_in1k";
  const cfg = modelConfig("convnextv2_atto");
  const rng = new Rng(7);
  served.set(
    `/timm/${v2}/resolve/main/model.safetensors`,
    serializeSafetensors(initParams(cfg, () => rng.normal())),
  );
  const r2 = await cli(["classify", imagePath("rocket.jpg"), "--model", v2, "--json", "--top", "2"], env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`${v2}: weights licensed CC-BY-NC-4.0`));
  for (const p of JSON.parse(r2.stdout).top as { label: string; index: number }[])
    assert.equal(p.label, names[p.index]);
});
