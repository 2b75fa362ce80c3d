/** `npm run bench`: benchmarks (not tests). `npm run bench -- inference` runs one section. */
import { resolve } from "node:path";
import { benchAdamwPlacement } from "./adamw-placement.ts";
import { benchClassify } from "./classify.ts";
import { benchDepthwiseGrad } from "./depthwise-grad.ts";
import { benchExportPrecision } from "./export-precision.ts";
import { benchInference } from "./inference.ts";
import { benchTransformersJs } from "./transformers-js.ts";
import { benchTraining } from "./train-throughput.ts";

const fixtures = process.env.CONVNEXT_FIXTURES ?? resolve(import.meta.dirname, "../../shared/fixtures");
const sections: Record<string, () => Promise<string[]>> = {
  inference: () => benchInference(fixtures),
  training: () => benchTraining(),
  "adamw-placement": () => benchAdamwPlacement(),
  "depthwise-grad": () => benchDepthwiseGrad(),
  classify: () => benchClassify(fixtures),
  "export-precision": () => benchExportPrecision(fixtures),
  "transformers-js": () => benchTransformersJs(fixtures),
};
const only = process.argv.slice(2);
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  for (const line of await run()) console.log(line);
  console.log();
}
