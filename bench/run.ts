/** `npm run bench`: benchmarks (not tests). `npm run bench -- inference` runs one section. */
import { resolve } from "node:path";
import { benchAdamwPlacement } from "./adamw-placement.ts";
import { benchClassify } from "./classify.ts";
import { benchDepthwiseGrad } from "./depthwise-grad.ts";
import { benchExportPrecision } from "./export-precision.ts";
import { benchInference } from "./inference.ts";
import { benchTransformersJs } from "./transformers-js.ts";
import { benchInferenceProfile } from "./inference-profile.ts";
import { benchTraining } from "./train-throughput.ts";

const fixtures = process.env.CONVNEXT_FIXTURES ?? resolve(import.meta.dirname, "../../shared/fixtures");
/** A section prints lines; with `--json`, its `data` (or its lines) goes into one JSON object instead. */
type Section = () => Promise<string[] | { lines: string[]; data: unknown }>;
const sections: Record<string, Section> = {
  inference: () => benchInference(fixtures),
  "inference-profile": () => benchInferenceProfile(),
  training: () => benchTraining(),
  "adamw-placement": () => benchAdamwPlacement(),
  "depthwise-grad": () => benchDepthwiseGrad(),
  classify: () => benchClassify(fixtures),
  "export-precision": () => benchExportPrecision(fixtures),
  "transformers-js": () => benchTransformersJs(fixtures),
};
const json = process.argv.includes("--json");
const only = process.argv.slice(2).filter((a) => a !== "--json");
const report: Record<string, unknown> = {};
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  const out = await run();
  const lines = Array.isArray(out) ? out : out.lines;
  if (json) {
    report[name] = Array.isArray(out) ? { lines } : out.data;
    continue;
  }
  for (const line of lines) console.log(line);
  console.log();
}
if (json) console.log(JSON.stringify(report, null, 1));
