/**
 * `npm run bench`: benchmarks (not tests). `npm run bench -- inference` runs one section; `--json` prints the
 * training section's results as JSON, `--repeats N` and `--model NAME` narrow it.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchAdamwPlacement } from "./adamw-placement.ts";
import { benchClassify } from "./classify.ts";
import { benchDepthwiseGrad } from "./depthwise-grad.ts";
import { benchExportPrecision } from "./export-precision.ts";
import { benchInference } from "./inference.ts";
import { benchInferenceProfile } from "./inference-profile.ts";
import { benchMlpLayout } from "./mlp-layout.ts";
import { benchTraining, trainingLines } from "./train-throughput.ts";
import { benchTransformersJs } from "./transformers-js.ts";

const { values: flags, positionals: only } = parseArgs({
  allowPositionals: true,
  options: { json: { type: "boolean" }, repeats: { type: "string" }, model: { type: "string" } },
});
const repeats = flags.repeats === undefined ? undefined : Number(flags.repeats);
const json: Record<string, unknown> = {};
const fixtures = process.env.CONVNEXT_FIXTURES ?? resolve(import.meta.dirname, "../../shared/fixtures");
/** A section prints lines; with `--json`, its `data` (or its lines) goes into one JSON object instead. */
type Section = () => Promise<string[] | { lines: string[]; data: unknown }>;
const sections: Record<string, Section> = {
  inference: () => benchInference(fixtures),
  "inference-profile": () => benchInferenceProfile(),
  training: async () => {
    const report = await benchTraining(repeats, flags.model);
    return { lines: trainingLines(report), data: report };
  },
  "adamw-placement": () => benchAdamwPlacement(),
  "depthwise-grad": () => benchDepthwiseGrad(),
  "mlp-layout": () => benchMlpLayout(),
  classify: () => benchClassify(fixtures),
  "export-precision": () => benchExportPrecision(fixtures),
  "transformers-js": () => benchTransformersJs(fixtures),
};
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  const out = await run();
  const lines = Array.isArray(out) ? out : out.lines;
  if (flags.json) {
    json[name] = Array.isArray(out) ? { lines } : out.data;
    continue;
  }
  for (const line of lines) console.log(line);
  console.log();
}
if (flags.json) console.log(JSON.stringify(json, null, 1));
