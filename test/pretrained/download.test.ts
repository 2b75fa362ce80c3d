import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import {
  cacheDir,
  cachePath,
  download,
  fetchPretrained,
  fetchPretrainedFile,
  findInHubCache,
  isOffline,
} from "../../src/pretrained/download-node.ts";
import { type PretrainedEntry, resolvePretrained } from "../../src/pretrained/registry.ts";
import { localServer, tempDir } from "../helpers.ts";

const BODY = randomBytes(300_000);
const SHA = createHash("sha256").update(BODY).digest("hex");

/** How the local server answers a request for one path. */
type Behaviour = "normal" | "drop-first" | "drop-always" | "ignore-range" | "not-found";

interface Seen {
  path: string;
  range?: string;
}

const seen: Seen[] = [];
const dropped = new Set<string>();
const tmp = tempDir("convnext-download-");

function serve(req: IncomingMessage, res: ServerResponse) {
  const path = req.url ?? "/";
  const behaviour = path.split("/")[1] as Behaviour;
  seen.push({ path, range: req.headers.range });
  if (behaviour === "not-found") {
    res.writeHead(404).end();
    return;
  }
  if (behaviour === "drop-always") {
    res.writeHead(200, { "content-length": BODY.length });
    res.write(BODY.subarray(0, 1000), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (range && behaviour !== "ignore-range") {
    const start = Number(range[1]);
    res.writeHead(206, {
      "content-length": BODY.length - start,
      "content-range": `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
    });
    res.end(BODY.subarray(start));
    return;
  }
  res.writeHead(200, { "content-length": BODY.length });
  if (behaviour !== "drop-first" || dropped.has(path)) {
    // Several writes so the client sees several progress steps.
    for (let i = 0; i < BODY.length; i += 65536) res.write(BODY.subarray(i, i + 65536));
    res.end();
    return;
  }
  dropped.add(path);
  res.write(BODY.subarray(0, 120_000), () => setTimeout(() => res.socket?.destroy(), 20));
}

const server = localServer(serve);

function requestsFor(path: string): Seen[] {
  return seen.filter((s) => s.path === path);
}

test("download streams to the destination, reports progress and leaves no .part", async () => {
  const dest = join(tmp, "a", "weights.bin");
  const progress: [number, number | undefined][] = [];
  await download(`${server.base()}/normal/a`, dest, {
    sha256: SHA,
    onProgress: (r, t) => progress.push([r, t]),
    offline: false,
  });
  assert.deepEqual(readFileSync(dest), BODY);
  assert.ok(!existsSync(`${dest}.part`));
  assert.ok(progress.length >= 3, `${progress.length} progress calls`);
  assert.ok(progress.every(([, t]) => t === BODY.length));
  assert.ok(
    progress.every(([r], i) => i === 0 || r >= progress[i - 1][0]),
    "monotonic",
  );
  assert.equal(progress[progress.length - 1][0], BODY.length);
});

test("a dropped connection is resumed with a Range request", async () => {
  const dest = join(tmp, "b", "weights.bin");
  const progress: number[] = [];
  await download(`${server.base()}/drop-first/b`, dest, {
    sha256: SHA,
    onProgress: (r) => progress.push(r),
    offline: false,
  });
  assert.deepEqual(readFileSync(dest), BODY);
  const reqs = requestsFor("/drop-first/b");
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0].range, undefined);
  const start = Number(/^bytes=(\d+)-$/.exec(reqs[1].range ?? "")?.[1]);
  assert.ok(start > 0 && start < BODY.length, `resumed at ${reqs[1].range}`);
  // Progress after the resume starts from the bytes already on disk.
  assert.ok(progress.includes(start));
});

test("a partial file survives a failed call and the next call resumes it", async () => {
  const dest = join(tmp, "c", "weights.bin");
  await assert.rejects(
    download(`${server.base()}/drop-first/c`, dest, { retries: 0, offline: false }),
    (e: Error) => {
      assert.match(e.message, /^download failed: .*partial file kept at .*weights\.bin\.part for resuming$/);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  assert.ok(existsSync(`${dest}.part`) && !existsSync(dest));
  await download(`${server.base()}/drop-first/c`, dest, { sha256: SHA, retries: 0, offline: false });
  assert.deepEqual(readFileSync(dest), BODY);
  assert.match(requestsFor("/drop-first/c")[1].range ?? "", /^bytes=[1-9]\d*-$/);
});

test("a server that ignores Range (200) restarts the file from scratch", async () => {
  const dest = join(tmp, "d", "weights.bin");
  mkdirSync(join(tmp, "d"));
  writeFileSync(`${dest}.part`, Buffer.from("stale bytes that must not survive"));
  await download(`${server.base()}/ignore-range/d`, dest, { sha256: SHA, offline: false });
  assert.deepEqual(readFileSync(dest), BODY);
  assert.ok(requestsFor("/ignore-range/d")[0].range?.startsWith("bytes="));
});

test("a checksum mismatch deletes the download and names both digests", async () => {
  const dest = join(tmp, "e", "weights.bin");
  const wrong = "0".repeat(64);
  await assert.rejects(
    download(`${server.base()}/normal/e`, dest, { sha256: wrong, offline: false }),
    (e: Error) => {
      assert.ok(e.message.includes(wrong) && e.message.includes(SHA), e.message);
      return true;
    },
  );
  assert.ok(!existsSync(dest) && !existsSync(`${dest}.part`));
  // A correct digest prefix (torch.hub file names) is accepted.
  await download(`${server.base()}/normal/e`, dest, { sha256: SHA.slice(0, 8), offline: false });
  assert.deepEqual(readFileSync(dest), BODY);
});

test("HTTP errors and exhausted retries fail with one line", async () => {
  await assert.rejects(
    download(`${server.base()}/not-found/f`, join(tmp, "f", "x"), { offline: false }),
    /HTTP 404/,
  );
  await assert.rejects(
    download(`${server.base()}/drop-always/g`, join(tmp, "g", "x"), { retries: 1, offline: false }),
    (e: Error) => !e.message.includes("\n") && /download failed/.test(e.message),
  );
});

test("offline mode never touches the network", async () => {
  const before = seen.length;
  await assert.rejects(
    download(`${server.base()}/normal/h`, join(tmp, "h", "x"), { offline: true }),
    /offline mode/,
  );
  assert.ok(isOffline({ CONVNEXT_OFFLINE: "1" }) && isOffline({ HF_HUB_OFFLINE: "true" }) && !isOffline({}));
  const env = {
    CONVNEXT_CACHE: join(tmp, "cache-offline"),
    HF_HUB_CACHE: join(tmp, "no-hub"),
    CONVNEXT_OFFLINE: "1",
  };
  await assert.rejects(fetchPretrained("convnext_tiny.fb_in1k", { env }), (e: Error) => {
    assert.match(
      e.message,
      /convnext_tiny\.fb_in1k is not cached \(looked for .*\) and offline mode is on \(CONVNEXT_OFFLINE=1\)/,
    );
    return true;
  });
  assert.equal(seen.length, before);
  // Once cached, offline mode serves it.
  const entry = resolvePretrained("convnext_tiny.fb_in1k");
  const cached = cachePath(entry, entry.files[0], env);
  mkdirSync(join(cached, ".."), { recursive: true });
  writeFileSync(cached, "weights");
  assert.equal(await fetchPretrained("convnext_tiny.fb_in1k", { env }), cached);
});

test("cache location follows CONVNEXT_CACHE, then XDG_CACHE_HOME, then ~/.cache", () => {
  assert.equal(cacheDir({ CONVNEXT_CACHE: "/x/c", XDG_CACHE_HOME: "/x/xdg" }), "/x/c");
  assert.equal(cacheDir({ XDG_CACHE_HOME: "/x/xdg" }), "/x/xdg/convnext");
  assert.match(cacheDir({}), /\.cache\/convnext$/);
  const entry = resolvePretrained("convnextv2_tiny.fcmae_ft_in1k");
  assert.equal(
    cachePath(entry, entry.files[0], { CONVNEXT_CACHE: "/c" }),
    "/c/convnextv2_tiny.fcmae_ft_in1k/model.safetensors",
  );
  assert.equal(
    cachePath(entry, entry.files[1], { CONVNEXT_CACHE: "/c" }),
    "/c/convnextv2_tiny.fcmae_ft_in1k/convnextv2_tiny_1k_224_ema.pt",
  );
});

test("a copy in the Hugging Face Hub cache is used in place", async () => {
  const hub = join(tmp, "hub");
  const snap = join(hub, "models--timm--convnext_small.fb_in1k", "snapshots", "abc123");
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(hub, "models--timm--convnext_small.fb_in1k", "refs"));
  writeFileSync(join(hub, "models--timm--convnext_small.fb_in1k", "refs", "main"), "abc123\n");
  writeFileSync(join(snap, "model.safetensors"), "weights");
  const env = { CONVNEXT_CACHE: join(tmp, "cache-hub"), HF_HUB_CACHE: hub, HF_HUB_OFFLINE: "1" };
  const entry = resolvePretrained("convnext_small.fb_in1k");
  assert.equal(findInHubCache(entry, entry.files[0], env), join(snap, "model.safetensors"));
  const got = await fetchPretrainedFile("convnext_small.fb_in1k", { env });
  assert.equal(got.path, join(snap, "model.safetensors"));
  assert.equal(got.file.format, "safetensors");
});

test("fetchPretrainedFile falls back to the next source and caches what it downloaded", async () => {
  const entry: PretrainedEntry = {
    ...resolvePretrained("convnext_tiny.fb_in1k"),
    name: "test_net.local",
    arch: "test_net",
    tag: "local",
    hfHubId: undefined,
    files: [
      { url: `${server.base()}/not-found/model.safetensors`, format: "safetensors", keys: "timm" },
      { url: `${server.base()}/normal/weights.pth`, format: "pth", keys: "official", sha256: SHA },
    ],
  };
  const env = { CONVNEXT_CACHE: join(tmp, "cache-fallback") };
  const progress: number[] = [];
  const got = await fetchPretrainedFile(entry, { env, offline: false, onProgress: (r) => progress.push(r) });
  assert.equal(got.file.keys, "official");
  assert.equal(got.path, join(tmp, "cache-fallback", "test_net.local", "weights.pth"));
  assert.deepEqual(readFileSync(got.path), BODY);
  assert.equal(progress[progress.length - 1], BODY.length);
  // Second time: straight from the cache, no request.
  const before = seen.length;
  assert.equal(await fetchPretrained(entry, { env, offline: false }), got.path);
  assert.equal(seen.length, before);
});
