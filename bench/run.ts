/**
 * `npm run bench`: benchmarks (not tests). `npm run bench -- inference` runs one section; `--json` prints the
 * training section's results as JSON, `--repeats N` and `--model NAME` narrow it.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchAdamwPlacement } from "./adamw-placement.ts";
import { benchClassify } from "./classify.ts";
import { benchDepthwiseGrad } from "./depthwise-grad.ts";
import { benchInference } from "./inference.ts";
import { benchTraining, trainingLines } from "./train-throughput.ts";

const { values: flags, positionals: only } = parseArgs({
  allowPositionals: true,
  options: { json: { type: "boolean" }, repeats: { type: "string" }, model: { type: "string" } },
});
const repeats = flags.repeats === undefined ? undefined : Number(flags.repeats);
const json: Record<string, unknown> = {};
const fixtures = process.env.CONVNEXT_FIXTURES ?? resolve(import.meta.dirname, "../../shared/fixtures");
const sections: Record<string, () => Promise<string[]>> = {
  inference: () => benchInference(fixtures),
  training: async () => {
    const report = await benchTraining(repeats, flags.model);
    json.training = report;
    return trainingLines(report);
  },
  "adamw-placement": () => benchAdamwPlacement(),
  "depthwise-grad": () => benchDepthwiseGrad(),
  classify: () => benchClassify(fixtures),
};
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  const lines = await run();
  if (flags.json) continue;
  for (const line of lines) console.log(line);
  console.log();
}
if (flags.json) console.log(JSON.stringify(json, null, 2));
