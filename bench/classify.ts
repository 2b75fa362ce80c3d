/**
 * Classify throughput on a directory: decode (sharp) + PIL-exact preprocessing + ConvNeXt-T (random weights)
 * at batch 8, the fixture photos replicated to 48 files. Compares when the next batch is decoded (overlap
 * "prepare" / "model" / "none", see src/api/batch-pipeline.ts), the modes interleaved run by run so machine
 * noise hits all of them; medians of several runs.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyTimings, type Overlap, type PipelineTimings } from "../src/api/batch-pipeline.ts";
import { ImageClassifier } from "../src/api/classify-node.ts";
import { listImageFiles } from "../src/api/image-files-node.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { ConvNeXtModel } from "../src/node/model.ts";
import { resolvePretrained } from "../src/pretrained/registry.ts";
import { Rng } from "../src/train/rng.ts";
import { fmt } from "./stats.ts";

const COPIES = 8;
const BATCH = 8;
const MODES: readonly Overlap[] = ["prepare", "model", "none"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function benchClassify(fixturesDir: string, repeats = 5): Promise<string[]> {
  const src = join(fixturesDir, "preprocess", "images");
  const photos = readdirSync(src).filter((f) => f !== "truncated.jpg");
  const dir = mkdtempSync(join(tmpdir(), "convnext-bench-classify-"));
  for (let c = 0; c < COPIES; c++) for (const f of photos) copyFileSync(join(src, f), join(dir, `${c}-${f}`));
  const files = (await listImageFiles([dir])).map((l) => l.path);

  const cfg = modelConfig("convnext_tiny", { layerScaleInit: 0.5 });
  const rng = new Rng(0);
  const model = new ConvNeXtModel(
    cfg,
    initParams(cfg, () => rng.normal()),
  );
  const clf = ImageClassifier.fromModel(model, {
    preprocess: resolvePretrained("convnext_tiny.fb_in1k").preprocess,
  });

  const once = async (overlap: Overlap): Promise<PipelineTimings> => {
    const t = emptyTimings();
    const t0 = performance.now();
    for await (const item of clf.stream(files, { top: 5, batch: BATCH, overlap, timings: t })) {
      if (!item.ok) throw item.error;
    }
    t.wallMs = performance.now() - t0;
    return t;
  };
  try {
    await once("none"); // session creation and warm-up
    const runs: Record<Overlap, PipelineTimings[]> = { prepare: [], model: [], none: [] };
    for (let i = 0; i < repeats; i++) for (const mode of MODES) runs[mode].push(await once(mode));
    const lines = [
      `classify throughput: ${files.length} files (${photos.length} fixture photos x ${COPIES}), ConvNeXt-T random weights, batch ${BATCH}, ${model.threads ?? "all"} threads; median of ${repeats}`,
      "overlap    img/s   wall ms   decode ms (waited)   preprocess ms   model ms",
    ];
    for (const mode of MODES) {
      const r = runs[mode];
      const m = (k: keyof PipelineTimings) => median(r.map((t) => t[k]));
      const rate = ((files.length * 1000) / m("wallMs")).toFixed(1);
      const decode = `${fmt(m("decodeMs")).padStart(11)} (${fmt(m("decodeWaitMs"))})`;
      lines.push(
        `${mode.padEnd(8)} ${rate.padStart(7)} ${fmt(m("wallMs")).padStart(9)} ${decode.padEnd(20)} ${fmt(m("prepareMs")).padStart(13)} ${fmt(m("modelMs")).padStart(10)}`,
      );
    }
    lines.push(
      "decode = sharp in libuv threads, summed per batch from start to last decode ('waited' = time the loop blocked on it);",
      "preprocess = PIL-exact resize/crop/normalise on the JS thread; model = onnxruntime run on the batch.",
    );
    return lines;
  } finally {
    await clf.release();
    rmSync(dir, { recursive: true, force: true });
  }
}
