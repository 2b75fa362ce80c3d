// Pages built the way users build theirs, in headless Chromium: an esbuild bundle of the browser entry (with the
// wasm copied beside it, as the README says; without it, a one-line error naming the file), and a Vite page made
// of the README's fine-tuning code block alone.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { build as esbuild } from "esbuild";
import { build as viteBuild } from "vite";
import { classify } from "../../src/api/classify-node.ts";
import { REPO_ROOT } from "../fixtures.ts";
import { type Chromium, launchChromium, openPage, skipReason } from "./chromium.ts";
import { classifyApp } from "./classify-app.ts";
import { readmeFineTuneBlock } from "./readme-block.ts";
import { type StaticServer, serveStatic } from "./static-server.ts";

const skip = skipReason();
const ENTRY = join(REPO_ROOT, "src", "browser.ts");
const WASM = join(REPO_ROOT, "node_modules", "onnxruntime-web", "dist", "ort-wasm-simd-threaded.wasm");
const PAGE = '<!doctype html><html><body><script type="module" src="./app.js"></script></body></html>';

const ESBUILD_APP = classifyApp(1);

describe("user-built pages in headless Chromium", { skip, timeout: 240_000 }, () => {
  let dir = "";
  let server: StaticServer;
  let chromium: Chromium;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "convnext-pages-"));
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an esbuild bundle classifies as Node does with the wasm beside it, and says what is missing without", async () => {
    const src = join(dir, "esbuild-src");
    mkdirSync(src);
    writeFileSync(join(src, "app.js"), ESBUILD_APP);
    for (const site of ["with-wasm", "without-wasm"]) {
      const out = join(dir, site);
      mkdirSync(out);
      writeFileSync(join(out, "index.html"), PAGE);
      await esbuild({
        entryPoints: [join(src, "app.js")],
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        outfile: join(out, "app.js"),
        alias: { "convnext/browser": ENTRY },
        logLevel: "error",
      });
    }
    copyFileSync(WASM, join(dir, "with-wasm", "ort-wasm-simd-threaded.wasm"));
    // The example as raw RGB, decoded by Node: this test is about the bundle, not the browser's decoder.
    const { decodeImage } = await import("../../src/preprocess/decode-node.ts");
    const coat = join(REPO_ROOT, "assets", "examples", "coat.png");
    const rgb = await decodeImage(coat);
    writeFileSync(join(dir, "coat.rgb"), rgb.data);
    server = await serveStatic({
      "/": dir,
      "/model.safetensors": join(REPO_ROOT, "assets", "models", "fashion-mnist", "model.safetensors"),
    });

    const result = async (site: string) => {
      const { page } = await openPage(chromium.browser, `${server.url}/${site}/`);
      await page.waitForFunction(() => (window as any).result !== undefined, { timeout: 120_000 });
      const r = await page.evaluate(() => (window as any).result);
      await page.close();
      return r;
    };
    const ok = await result("with-wasm");
    assert.equal(ok.error, undefined, ok.error);
    const [expected] = await classify([coat]);
    assert.equal(ok.top[0].label, expected.top[0].label);
    assert.ok(
      Math.abs(ok.top[0].prob - expected.top[0].prob) < 1e-5,
      `${ok.top[0].prob} vs ${expected.top[0].prob}`,
    );

    const missing = await result("without-wasm");
    assert.match(missing.error ?? "", /^onnxruntime-web could not start .*ort-wasm-simd-threaded\.wasm/);
    assert.doesNotMatch(missing.error, /\n/);
  });

  it("a Vite page made of the README's fine-tuning example alone trains and classifies", async () => {
    const root = join(dir, "readme-page");
    mkdirSync(root);
    writeFileSync(join(root, "index.html"), PAGE.replace("./app.js", "./main.ts"));
    writeFileSync(join(root, "main.ts"), readmeFineTuneBlock());
    const out = join(dir, "readme-dist");
    await viteBuild({
      root,
      configFile: false,
      logLevel: "error",
      base: "./",
      resolve: { alias: { "convnext/browser": ENTRY } },
      build: { outDir: out, emptyOutDir: true },
    });
    const page = await chromium.browser.newPage();
    const losses: number[] = [];
    page.on("console", (m) => {
      const hit = /^step \d+: loss ([\d.]+)$/.exec(m.text());
      if (hit) losses.push(Number(hit[1]));
    });
    const site = await serveStatic({ "/": out });
    try {
      await page.goto(`${site.url}/`);
      await page.waitForFunction(() => document.body.textContent?.startsWith("a blue square"), {
        timeout: 150_000,
      });
      assert.equal(losses.length, 20);
      assert.ok(losses[19] < losses[0], `loss did not fall: ${losses.join(", ")}`);
      assert.match(
        (await page.evaluate(() => document.body.textContent)) ?? "",
        /^a blue square: (red|blue) \(/,
      );
    } finally {
      await page.close();
      await site.close();
    }
  });
});
