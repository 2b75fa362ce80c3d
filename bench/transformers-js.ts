/**
 * How close transformers.js comes to our classifier on photos, with the folder `export --format transformers.js`
 * writes and its processor as configured (its resize is sharp's, not PIL's; the tests compare with the resize
 * off). Per fixture photo: the difference of the model inputs (pixel_values vs our tensor), top-1 and top-5
 * agreement, and the largest difference of any class probability. The model is the v1-atto fixture (re-drawn
 * random weights, 1000 classes): its probabilities are flat, so rankings flip more easily than a trained
 * model's would.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  AutoProcessor,
  env,
  type ImageClassificationPipeline,
  pipeline,
  RawImage,
} from "@huggingface/transformers";
import { ImageClassifier } from "../src/api/classify-node.ts";
import { openModel } from "../src/api/model-source-node.ts";
import { decodeImage } from "../src/preprocess/decode-node.ts";

const SKIP = new Set(["truncated.jpg", "foo3x5x4indexed.png"]);

export async function benchTransformersJs(fixturesDir: string): Promise<string[]> {
  const weights = join(fixturesDir, "models", "v1-atto", "timm.safetensors");
  const dir = mkdtempSync(join(tmpdir(), "convnext-bench-tjs-"));
  const cli = resolve(import.meta.dirname, "..", "bin", "convnext.js");
  const r = spawnSync(
    process.execPath,
    [cli, "export", weights, "--format", "transformers.js", "--output", join(dir, "m")],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr.trim()}`);
  env.allowRemoteModels = false;
  env.localModelPath = dir;
  const hf = (await pipeline("image-classification", "m")) as ImageClassificationPipeline;
  const processor = await AutoProcessor.from_pretrained("m");
  const ours = ImageClassifier.fromSource(await openModel({ weights }));
  const classes = ours.config.numClasses;
  const lines = [
    "transformers.js (its processor, sharp resize) vs ours (PIL-exact) on fixture photos, v1-atto fixture weights",
    "photo            size       max|Δinput| mean|Δinput|  top-1  top-5 overlap  same order  max|Δprob| (top-1 prob)",
  ];
  const photos = readdirSync(join(fixturesDir, "preprocess", "images")).filter((f) => !SKIP.has(f));
  for (const name of photos) {
    const path = join(fixturesDir, "preprocess", "images", name);
    const img = await decodeImage(path);
    const prepared = ours.prepare(img);
    const [mine] = await ours.run([prepared.tensor], { top: classes });
    const theirs = (await hf(path, { top_k: classes })) as { label: string; score: number }[];
    const { pixel_values } = await processor(await RawImage.read(path));
    const a = prepared.tensor.data;
    const b = pixel_values.data as Float32Array;
    let maxIn = 0;
    let sumIn = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      maxIn = Math.max(maxIn, d);
      sumIn += d;
    }
    const score = new Map(theirs.map((p) => [p.label, p.score]));
    const maxProb = Math.max(...mine.top!.map((p) => Math.abs(p.prob - (score.get(p.label) ?? 0))));
    const top5 = (list: { label: string }[]) => list.slice(0, 5).map((p) => p.label);
    const [m5, t5] = [top5(mine.top!), top5(theirs)];
    const overlap = m5.filter((l) => t5.includes(l)).length;
    lines.push(
      `${name.padEnd(16)} ${`${img.width}x${img.height}`.padEnd(10)} ${maxIn.toFixed(3).padStart(11)} ${(sumIn / a.length).toFixed(4).padStart(12)}  ${m5[0] === t5[0] ? "same " : "DIFF "}  ${overlap}/5            ${m5.join() === t5.join() ? "yes" : "no "}         ${maxProb.toExponential(2)} (${mine.top![0].prob.toFixed(4)})`,
    );
  }
  await ours.release();
  await hf.dispose();
  return lines;
}
