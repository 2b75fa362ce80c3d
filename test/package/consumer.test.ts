// The package as a user gets it: `npm pack`, installed into an empty folder, then used from plain node (ESM and
// CommonJS), the installed `convnext` command, tsc in strict mode (TypeScript 7 and 5, node16 and bundler
// resolution) and two bundlers for the browser entry. Nothing here reads the repository's sources.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { classify } from "../../src/api/classify-node.ts";
import { decodeImage } from "../../src/preprocess/decode-node.ts";
import { modelConfig } from "../../src/models/variants.ts";
import { paramShapes } from "../../src/models/convnext.ts";
import { countParams } from "../../src/models/count.ts";
import { launchChromium, openPage, skipReason } from "../browser/chromium.ts";
import { readmeFineTuneBlock } from "../browser/readme-block.ts";
import { serveStatic } from "../browser/static-server.ts";
import { REPO_ROOT } from "../fixtures.ts";
import { CONSUMER_FILES } from "./consumer-files.ts";

const BIN = join(REPO_ROOT, "node_modules", ".bin");

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout,
    // What the README tells users: skip onnxruntime-node's optional CUDA download.
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", NO_COLOR: "1" },
  });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function ok(r: { code: number; out: string; err: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

describe("the packed package, installed into an empty folder", { timeout: 900_000 }, () => {
  let dir = "";
  let tarball = "";
  let packed: { files: { path: string }[]; size: number; entryCount: number } | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "convnext-consumer-"));
    const pack = ok(sh("npm", ["pack", "--json", "--pack-destination", dir], REPO_ROOT), "npm pack");
    // prepack's build prints to stdout before npm's JSON: the JSON is the last top-level array.
    packed = JSON.parse(pack.slice(pack.lastIndexOf("\n[") + 1))[0];
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith(".tgz")) ?? "");
    for (const [name, text] of Object.entries(CONSUMER_FILES)) writeFileSync(join(dir, name), text);
    ok(
      sh("npm", ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--no-save"], dir),
      "npm install of the tarball",
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ships the compiled library, its declarations, the CLI, the bundled model and a licence, and nothing else", () => {
    const paths = (packed?.files ?? []).map((f) => f.path);
    for (const p of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/browser.js",
      "dist/browser.d.ts",
      "bin/convnext.js",
    ])
      assert.ok(paths.includes(p), `${p} is not in the tarball`);
    assert.ok(paths.includes("LICENSE"), "no LICENSE in the tarball");
    assert.ok(
      paths.includes("assets/models/fashion-mnist/model.safetensors"),
      "the bundled model is missing",
    );
    const strays = paths.filter(
      (p) =>
        /^(src|test|bench|docs|\.ci|web|scratch)\//.test(p) || (p.endsWith(".ts") && !p.endsWith(".d.ts")),
    );
    assert.deepEqual(strays, [], "development files in the tarball");
    const installed = JSON.parse(readFileSync(join(dir, "node_modules/convnext/package.json"), "utf8"));
    assert.equal(installed.dependencies.tsx, undefined, "tsx is a runtime dependency");
  });

  it("plain node imports the Node entry and classifies an example as the sources do", async () => {
    const out = JSON.parse(ok(sh("node", ["classify.mjs"], dir), "node classify.mjs"));
    const image = join(REPO_ROOT, "assets", "examples", "coat.png");
    const [expected] = await classify([image]);
    assert.equal(out.top[0].label, expected.top[0].label);
    assert.ok(Math.abs(out.top[0].prob - expected.top[0].prob) < 1e-6);
  });

  it("plain node runs a batch on worker sessions from the compiled files, as on one thread", () => {
    const out = JSON.parse(ok(sh("node", ["batch.mjs"], dir), "node batch.mjs"));
    assert.equal(out.n, 3 * 1000);
    assert.ok(out.scale > 0 && out.diff <= 1e-5 * out.scale, `max |Δ| ${out.diff} of ${out.scale}`);
  });

  it("plain node imports the browser entry, and CommonJS can require the Node entry", () => {
    const names = JSON.parse(ok(sh("node", ["entries.mjs"], dir), "node entries.mjs"));
    assert.ok(names.browser.includes("createWebClassifier"), "browser entry lacks createWebClassifier");
    assert.ok(names.node.includes("ConvNeXtModel"), "node entry lacks ConvNeXtModel");
    const required = JSON.parse(ok(sh("node", ["require.cjs"], dir), "node require.cjs"));
    assert.deepEqual(required, names.node);
  });

  it("the installed `convnext` command runs the compiled CLI", () => {
    const info = JSON.parse(
      ok(
        sh(join(dir, "node_modules/.bin/convnext"), ["info", "convnext_atto", "--json"], dir),
        "convnext info",
      ),
    );
    assert.equal(info.params, countParams(paramShapes(modelConfig("convnext_atto")).values()));
    // --version finds the installed package.json from dist/cli.
    const version = ok(sh(join(dir, "node_modules/.bin/convnext"), ["--version"], dir), "convnext --version");
    assert.equal(version.trim(), JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version);
  });

  for (const [tsc, label] of [
    [join(BIN, "tsc"), "TypeScript 7"],
    [join(REPO_ROOT, "node_modules", "typescript-5", "bin", "tsc"), "TypeScript 5"],
  ] as const) {
    for (const resolution of ["node16", "bundler"] as const) {
      it(`${label} --strict type-checks a consumer with ${resolution} resolution, and the types are real`, () => {
        const module = resolution === "bundler" ? "esnext" : "node16";
        const args = ["--strict", "--noEmit", "--target", "es2022", "--module", module];
        // Our declarations are checked too (skipLibCheck off) in one of the four runs; the rest stay quick. That
        // run lists no global types, TypeScript 7's default: the declarations must not need Node's (Buffer).
        const checksOurs = label === "TypeScript 7" && resolution === "node16";
        args.push("--moduleResolution", resolution, "--typeRoots", join(REPO_ROOT, "node_modules/@types"));
        if (!checksOurs) args.push("--types", "node");
        args.push("--skipLibCheck", String(!checksOurs));
        const r = sh(tsc, [...args, "consumer.ts", "consumer-wrong.ts"], dir);
        // The one misuse, and nothing else, is an error: the declarations give real types, not `any`.
        const errors = r.out.split("\n").filter((l) => /error TS\d+/.test(l));
        assert.equal(errors.length, 1, `expected exactly the misuse to fail:\n${r.out}${r.err}`);
        assert.match(errors[0], /^consumer-wrong\.ts\(\d+,\d+\): error TS2322/);
      });
    }
  }

  it("a Node-only TypeScript project type-checks our declarations without the DOM's types", () => {
    const args = ["--strict", "--noEmit", "--target", "es2022", "--lib", "es2022", "--module", "node16"];
    args.push("--moduleResolution", "node16", "--typeRoots", join(REPO_ROOT, "node_modules/@types"));
    args.push("--types", "node", "--skipLibCheck", "false");
    const r = sh(join(BIN, "tsc"), [...args, "consumer-node.ts"], dir);
    assert.equal(r.code, 0, `${r.out}${r.err}`);
    assert.equal(r.out.trim(), "");
  });

  it("esbuild bundles the browser entry without Node's modules", () => {
    const outfile = join(dir, "esbuild-out", "app.js");
    const args = [
      "browser-app.mjs",
      "--bundle",
      "--format=esm",
      "--platform=browser",
      `--outfile=${outfile}`,
    ];
    ok(sh(join(BIN, "esbuild"), [...args, "--loader:.wasm=file"], dir), "esbuild");
    const code = readFileSync(outfile, "utf8");
    assert.ok(code.includes("createWebClassifier") || code.length > 100_000, "bundle looks empty");
    // onnxruntime-web itself keeps a guarded `require("node:fs")` for Node; the bundle must not import Node modules.
    assert.doesNotMatch(code, /onnxruntime-node|["']sharp["']|^import .* from ["']node:/m);
  });

  it("vite builds a page that imports the browser entry", () => {
    ok(sh(join(BIN, "vite"), ["build", "--logLevel", "error", "--outDir", "vite-out"], dir), "vite build");
    const assets = readdirSync(join(dir, "vite-out", "assets"));
    const js = assets
      .filter((f) => f.endsWith(".js"))
      .map((f) => statSync(join(dir, "vite-out", "assets", f)).size);
    assert.ok(
      js.length > 0 && Math.max(...js) > 50_000,
      `vite produced no real bundle: ${assets.join(", ")}`,
    );
    assert.ok(existsSync(join(dir, "vite-out", "index.html")));
  });

  // The outside view of the browser issue: pages built from the installed package alone, run in Chromium.
  it("the Vite page classifies in headless Chromium as Node does", { skip: skipReason() }, async () => {
    const coat = join(REPO_ROOT, "assets", "examples", "coat.png");
    writeFileSync(join(dir, "vite-out", "coat.rgb"), (await decodeImage(coat)).data);
    const model = join(dir, "node_modules/convnext/assets/models/fashion-mnist/model.safetensors");
    const server = await serveStatic({ "/": join(dir, "vite-out"), "/model.safetensors": model });
    const chromium = await launchChromium();
    try {
      const { page, errors } = await openPage(chromium.browser, `${server.url}/`);
      await page.waitForFunction(() => (window as any).result !== undefined, { timeout: 120_000 });
      const result = await page.evaluate(() => (window as any).result);
      assert.equal(result.error, undefined, `${result.error}\n${errors.join("\n")}`);
      const [expected] = await classify([coat]);
      assert.equal(result.top[0].label, expected.top[0].label);
      assert.ok(Math.abs(result.top[0].prob - expected.top[0].prob) < 1e-5);
    } finally {
      await chromium.close();
      await server.close();
    }
  });

  it("a Vite page made of the README's fine-tuning block alone trains in headless Chromium", {
    skip: skipReason(),
  }, async () => {
    const root = join(dir, "readme-page");
    mkdirSync(root);
    writeFileSync(
      join(root, "index.html"),
      CONSUMER_FILES["index.html"].replace("./browser-app.mjs", "./main.ts"),
    );
    writeFileSync(join(root, "main.ts"), readmeFineTuneBlock());
    ok(
      sh(
        join(BIN, "vite"),
        ["build", "--logLevel", "error", "--base", "./", "--outDir", "../readme-out"],
        root,
      ),
      "vite build of the README block",
    );
    const server = await serveStatic({ "/": join(dir, "readme-out") });
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const losses: number[] = [];
      page.on("console", (m) => {
        const hit = /^step \d+: loss ([\d.]+)$/.exec(m.text());
        if (hit) losses.push(Number(hit[1]));
      });
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => document.body.textContent?.startsWith("a blue square"), {
        timeout: 150_000,
      });
      assert.ok(
        losses.length >= 2 && losses[losses.length - 1] < losses[0],
        `loss did not fall: ${losses.join(", ")}`,
      );
    } finally {
      await chromium.close();
      await server.close();
    }
  });
});
