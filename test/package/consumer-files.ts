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

// A batch on 1 thread (one session, runs of one image) and on 2 (two worker sessions started from the package's
// compiled files): the same logits.
const batchMjs = `import { ConvNeXtModel, float32, initParams, modelConfig } from "convnext";

const config = modelConfig("convnext_atto");
let seed = 1;
const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1;
const weights = initParams(config, rand);
const x = float32([3, 3, 224, 224], Float32Array.from({ length: 3 * 3 * 224 * 224 }, rand));
const one = new ConvNeXtModel(config, weights, 1);
const two = new ConvNeXtModel(config, weights, 2);
const a = (await one.forward(x)).logits.data;
const b = (await two.forward(x)).logits.data;
let diff = 0;
let scale = 0;
for (let i = 0; i < a.length; i++) {
  diff = Math.max(diff, Math.abs(a[i] - b[i]));
  scale = Math.max(scale, Math.abs(a[i]));
}
await one.release();
await two.release();
console.log(JSON.stringify({ n: a.length, diff, scale }));
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

// A Node-only project: our declarations must need no DOM types (checked with lib es2022 alone).
const consumerNodeTs = `import { classify, ConvNeXtModel, float32, openOnnxClassifier } from "convnext";

const model = await ConvNeXtModel.load("model.safetensors", { precision: "int8" });
const out = await model.forward(float32([1, 3, 224, 224]), ["logits", "stage3"]);
const logits: Float32Array = out.logits.data as Float32Array;
const onnx = await openOnnxClassifier("model.onnx", { threads: 1 });
const [first] = await classify(["photo.jpg"], { batch: 4 });
console.log(logits.length, onnx, first.top[0].prob);
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
  "batch.mjs": batchMjs,
  "require.cjs": requireCjs,
  "consumer.ts": consumerTs,
  "consumer-node.ts": consumerNodeTs,
  "consumer-wrong.ts": consumerWrongTs,
  "browser-app.mjs": classifyApp(),
  "index.html": indexHtml,
};
