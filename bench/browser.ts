/**
 * Inference and fine-tuning speed in headless Chromium (onnxruntime-web: WASM with 1 thread, then 2) against
 * onnxruntime-node on the same machine, for the bundled Fashion-MNIST model and convnext_atto, with the bundle
 * and wasm sizes of the demo page. Medians. Run: `node --import tsx bench/browser.ts`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { createSession } from "../src/runtime/session-node.ts";
import { launchChromium } from "../test/browser/chromium.ts";
import { serveStatic } from "../test/browser/static-server.ts";
import { type BrowserBenchCase, measure } from "./browser-work.ts";

const ROOT = join(import.meta.dirname, "..");
const MODEL = join(ROOT, "assets", "models", "fashion-mnist", "model.safetensors");
const CASES: (BrowserBenchCase & { url?: string })[] = [
  {
    name: "fashion-mnist 32² (bundled)",
    url: "/model.safetensors",
    size: 32,
    trainBatch: 16,
    runs: 30,
    steps: 8,
  },
  { name: "convnext_atto 224²", size: 224, trainBatch: 4, runs: 10, steps: 4 },
];

const rows: string[][] = [];
const out = mkdtempSync(join(tmpdir(), "convnext-bench-page-"));
try {
  await build({
    root: join(ROOT, "bench", "browser-page"),
    configFile: false,
    logLevel: "error",
    base: "./",
    build: { outDir: out, modulePreload: { polyfill: false } },
  });
  const server = await serveStatic({ "/": out, "/model.safetensors": MODEL });
  const chromium = await launchChromium();
  for (const threads of [1, 2]) {
    const page = await chromium.browser.newPage();
    await page.goto(`${server.url}/?threads=${threads}`);
    await page.waitForFunction(() => (window as any).bench !== undefined);
    const results = await page.evaluate((cases) => (window as any).bench(cases), CASES);
    for (const r of results)
      rows.push([
        r.name,
        `Chromium WASM, ${threads} thread${threads > 1 ? "s" : ""}`,
        r.inferMs.toFixed(1),
        r.stepMs.toFixed(0),
      ]);
    await page.close();
  }
  await chromium.close();
  await server.close();
  for (const threads of [1, 2]) {
    for (const c of CASES) {
      const weights = c.url ? new Uint8Array(readFileSync(MODEL)) : undefined;
      const r = await measure({ ...c, weights }, (onnx) => createSession(onnx, { threads, spinning: false }));
      rows.push([
        r.name,
        `onnxruntime-node, ${threads} thread${threads > 1 ? "s" : ""}`,
        r.inferMs.toFixed(1),
        r.stepMs.toFixed(0),
      ]);
    }
  }
  console.log("| model | engine | inference, batch 1 (ms) | training step, all layers (ms) |");
  console.log("|---|---|---|---|");
  for (const r of rows.sort((a, b) => a[0].localeCompare(b[0]))) console.log(`| ${r.join(" | ")} |`);
  console.log(`\ntraining batches: ${CASES.map((c) => `${c.name} ${c.trainBatch}`).join(", ")}`);
  const assets = join(out, "assets");
  for (const f of readdirSync(assets))
    console.log(`${f}: ${(statSync(join(assets, f)).size / 1e6).toFixed(2)} MB`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
