// The demo page (web/), built with Vite and served on 127.0.0.1 with the isolation headers, in headless
// Chromium: it classifies as onnxruntime-node does, reads checkpoints from bytes, fine-tunes, and the weights
// it saves classify the same in Node.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ElementHandle, Page } from "puppeteer-core";
import { build } from "vite";
import { createClassifier } from "../../src/api/classify-node.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { FIXTURES, REPO_ROOT } from "../fixtures.ts";
import { type Chromium, launchChromium, openPage, skipReason } from "./chromium.ts";
import { saveScreenshot } from "./screenshots.ts";
import { type StaticServer, serveStatic } from "./static-server.ts";

const skip = skipReason();
const EXAMPLES = ["coat.png", "sandal.png", "trouser.png"];

interface PageResult {
  top: { label: string; prob: number }[];
  logits: number[];
}

/** Node's answer for the same images and weights: onnxruntime-node through the Node entry's classifier. */
async function nodeResults(weights: string | undefined, files: string[]): Promise<PageResult[]> {
  const clf = await createClassifier(weights ? { weights } : {});
  try {
    const out: PageResult[] = [];
    for (const f of files) {
      const [r] = await clf.run([clf.prepare(await decodeImage(f)).tensor], { top: 5, features: ["logits"] });
      out.push({ top: r.top ?? [], logits: Array.from(r.features.logits?.data ?? []) });
    }
    return out;
  } finally {
    await clf.release();
  }
}

function assertSameResults(page: PageResult[], node: PageResult[], tol: number): void {
  assert.equal(page.length, node.length);
  page.forEach((p, i) => {
    assert.deepEqual(
      p.top.map((t) => t.label),
      node[i].top.map((t) => t.label),
      `image ${i}: top-5 differs`,
    );
    const diff = Math.max(...p.logits.map((v, k) => Math.abs(v - node[i].logits[k])));
    assert.ok(diff < tol, `image ${i}: logits differ by ${diff}`);
  });
}

describe("the demo page in headless Chromium", { skip, timeout: 300_000 }, () => {
  let dist = "";
  let server: StaticServer;
  let chromium: Chromium;
  let page: Page;
  let errors: string[] = [];

  before(async () => {
    dist = mkdtempSync(join(tmpdir(), "convnext-demo-"));
    await build({
      configFile: join(REPO_ROOT, "web", "vite.config.ts"),
      logLevel: "error",
      build: { outDir: dist, emptyOutDir: true },
    });
    server = await serveStatic({
      "/": dist,
      "/examples/": join(REPO_ROOT, "assets", "examples"),
      "/fixtures/": FIXTURES,
    });
    chromium = await launchChromium();
    ({ page, errors } = await openPage(chromium.browser, `${server.url}/`));
    await page.waitForFunction(() => (window as any).demo !== undefined);
    await page.evaluate(() => (window as any).demo.ready);
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it("is cross-origin isolated and runs WASM with threads", async () => {
    const info = await page.evaluate(() => (window as any).demo.info());
    assert.equal(info.backend, "wasm");
    assert.equal(info.crossOriginIsolated, true);
    assert.ok(info.threads >= 1);
    assert.deepEqual(errors, []);
  });

  it("asked for WebGPU without an adapter, falls back to WASM with a one-line notice", async () => {
    const other = await chromium.browser.newPage();
    const notices: string[] = [];
    other.on("console", (m) => {
      if (m.type() === "warn") notices.push(m.text());
    });
    await other.goto(`${server.url}/?backend=webgpu`);
    await other.waitForFunction(() => (window as any).demo !== undefined);
    const info = await other.evaluate(() => (window as any).demo.info());
    await other.close();
    assert.equal(info.backend, "wasm");
    // Chromium adds its own "No available adapters." warning; ours is one line, once.
    assert.deepEqual(
      notices.filter((n) => n.includes("WebGPU")),
      ["WebGPU is not available in this browser: running on WASM"],
    );
  });

  it("classifies the examples with the bundled model as onnxruntime-node does", async () => {
    const urls = EXAMPLES.map((f) => `/examples/${f}`);
    const got: PageResult[] = await page.evaluate((u) => (window as any).demo.classifyUrls(u), urls);
    const expected = await nodeResults(
      undefined,
      EXAMPLES.map((f) => join(REPO_ROOT, "assets", "examples", f)),
    );
    assertSameResults(got, expected, 1e-4);
  });

  for (const file of ["v1-small/official.pth", "v1-small/torchvision.pth", "v2-small/timm.safetensors"]) {
    it(`loads ${file} from bytes and classifies as Node does`, async () => {
      await page.evaluate((u) => (window as any).demo.useCheckpointUrl(u), `/fixtures/models/${file}`);
      const images = ["chelsea.png", "coffee.png"];
      const got: PageResult[] = await page.evaluate(
        (u) => (window as any).demo.classifyUrls(u),
        images.map((f) => `/fixtures/preprocess/images/${f}`),
      );
      const expected = await nodeResults(
        join(FIXTURES, "models", file),
        images.map((f) => join(FIXTURES, "preprocess", "images", f)),
      );
      assertSameResults(got, expected, 1e-4);
    });
  }

  it("fine-tunes on a few images; the loss falls and the saved weights classify the same in Node", async () => {
    await page.evaluate(() => (window as any).demo.useBundledModel());
    const images: [string, number][] = [
      ["/examples/coat.png", 0],
      ["/examples/pullover.png", 0],
      ["/examples/shirt.png", 0],
      ["/examples/ankle-boot.png", 1],
      ["/examples/sandal.png", 1],
      ["/examples/trouser.png", 1],
    ];
    const r: { losses: number[]; weights: string } = await page.evaluate(
      (req) => (window as any).demo.fineTuneUrls(req),
      { classes: ["top", "other"], images, train: "head", steps: 12 },
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(r.losses.slice(-3)) < 0.5 * mean(r.losses.slice(0, 3)),
      `loss did not fall: ${r.losses.join(", ")}`,
    );

    const dir = mkdtempSync(join(tmpdir(), "convnext-tuned-"));
    try {
      const weights = join(dir, "tuned.safetensors");
      writeFileSync(weights, Buffer.from(r.weights, "base64"));
      await page.evaluate(() => document.getElementById("use-tuned")?.click());
      await page.waitForFunction(() => document.getElementById("model-name")?.textContent === "fine-tuned");
      const urls = images.map(([u]) => u);
      const got: PageResult[] = await page.evaluate((u) => (window as any).demo.classifyUrls(u), urls);
      const expected = await nodeResults(
        weights,
        images.map(([u]) => join(REPO_ROOT, "assets", "examples", u.slice("/examples/".length))),
      );
      assertSameResults(got, expected, 1e-4);
      assert.deepEqual(
        got.map((g) => g.top[0].label),
        images.map(([, k]) => ["top", "other"][k]),
        "the fine-tuned model does not tell its training images apart",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows results, stage maps and the loss curve (screenshots)", async () => {
    await page.evaluate(() => (window as any).demo.useBundledModel());
    await page.setViewport({ width: 1000, height: 900 });
    const input = (await page.$("#images")) as ElementHandle<HTMLInputElement> | null;
    await input!.uploadFile(...EXAMPLES.map((f) => join(REPO_ROOT, "assets", "examples", f)));
    await page.waitForFunction(
      (n) => document.querySelectorAll(".result .maps canvas").length >= n,
      {},
      4 * 3,
    );
    const [header, model, classifyPart, fineTune] = await page.$$("header, section");
    assert.ok(header && model && classifyPart && fineTune, "the page lacks a section");
    await saveScreenshot(classifyPart, "classify.png");
    await saveScreenshot(fineTune, "fine-tune.png");
    assert.ok((await saveScreenshot(page, "demo.png")).endsWith(".png"));
    assert.deepEqual(errors, []);
  });
});
