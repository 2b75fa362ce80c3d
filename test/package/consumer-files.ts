// The files of a small consumer project, written beside the installed tarball by consumer.test.ts.
// Each uses only the package's public entries, as a user's code would.
import { classifyApp } from "../browser/classify-app.ts";

const classifyMjs = `import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { classify } from "convnext";

const image = fileURLToPath(import.meta.resolve("convnext/package.json")).replace(/package\\.json$/, "assets/examples/coat.png");
const [result] = await classify([image]);
console.log(JSON.stringify(result));
`;

const entriesMjs = `const node = await import("convnext");
const browser = await import("convnext/browser");
console.log(JSON.stringify({ node: Object.keys(node).sort(), browser: Object.keys(browser).sort() }));
`;

const requireCjs = `const convnext = require("convnext");
console.log(JSON.stringify(Object.keys(convnext).filter((k) => k !== "__esModule" && k !== "module.exports").sort()));
`;

const consumerTs = `import { type ClassifyResult, classify, ConvNeXtModel, countParams, modelConfig, paramShapes } from "convnext";
import { type ConvNeXtConfig, createWebClassifier } from "convnext/browser";

const config: ConvNeXtConfig = modelConfig("convnext_atto");
const params: number = countParams(paramShapes(config).values());
const results: ClassifyResult[] = await classify(["photo.jpg"]);
const label: string = results[0].top[0].label;
const load: typeof ConvNeXtModel.load = ConvNeXtModel.load;
const web: typeof createWebClassifier = createWebClassifier;
console.log(params, label, load, web);
`;

// The same consumer with one misuse: a label is a string.
const consumerWrongTs = `import { classify } from "convnext";

const results = await classify(["photo.jpg"]);
const label: number = results[0].top[0].label;
console.log(label);
`;

const indexHtml = `<!doctype html>
<html><body><script type="module" src="./browser-app.mjs"></script></body></html>
`;

export const CONSUMER_FILES: Record<string, string> = {
  "package.json": `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
  "classify.mjs": classifyMjs,
  "entries.mjs": entriesMjs,
  "require.cjs": requireCjs,
  "consumer.ts": consumerTs,
  "consumer-wrong.ts": consumerWrongTs,
  "browser-app.mjs": classifyApp(),
  "index.html": indexHtml,
};
