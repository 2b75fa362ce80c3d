import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import {
  FASHION_MNIST_FILES,
  fashionMnistCacheDir,
  fashionMnistDir,
} from "../../src/train/data/fashion-mnist-fetch-node.ts";
import { loadFashionMnist } from "../../src/train/data/fashion-mnist-node.ts";

/** An IDX file: magic (0, 0, type 8 = ubyte, rank), big-endian dims, then the bytes. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(8, 2);
  head.writeUInt8(dims.length, 3);
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return gzipSync(Buffer.concat([head, data]));
}

const pixels = (n: number, seed: number) =>
  Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * seed) % 256);
const BODIES: Record<string, Buffer> = {
  "train-images-idx3-ubyte.gz": idx([3, 28, 28], pixels(3, 7)),
  "train-labels-idx1-ubyte.gz": idx([3], Uint8Array.from([4, 0, 9])),
  "t10k-images-idx3-ubyte.gz": idx([2, 28, 28], pixels(2, 11)),
  "t10k-labels-idx1-ubyte.gz": idx([2], Uint8Array.from([1, 8])),
};
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const FILES = Object.fromEntries(Object.entries(BODIES).map(([name, body]) => [name, md5(body)]));

const requests: string[] = [];
/** Paths under /corrupt/ serve the right size with a flipped byte. */
const server = createServer((req, res) => {
  const path = req.url ?? "/";
  requests.push(path);
  const body = BODIES[path.split("/").pop() ?? ""];
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  const sent = Buffer.from(body);
  if (path.startsWith("/corrupt/")) sent[sent.length - 1] ^= 0xff;
  res.writeHead(200, { "content-length": sent.length });
  res.end(sent);
});
let base = "";
const tmp = mkdtempSync(join(tmpdir(), "convnext-fmnist-"));
const emptySystemDir = join(tmp, "not-installed");
mkdirSync(emptySystemDir);

before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const envFor = (cache: string, url: string) => ({ CONVNEXT_CACHE: cache, CONVNEXT_FASHION_MNIST_URL: url });

test("the official files are listed with their published MD5s", () => {
  assert.deepEqual(Object.keys(FASHION_MNIST_FILES).sort(), Object.keys(BODIES).sort());
  for (const digest of Object.values(FASHION_MNIST_FILES)) assert.match(digest, /^[0-9a-f]{32}$/);
});

test("Fashion-MNIST that is not installed is downloaded into the cache once, with progress", async () => {
  const env = envFor(join(tmp, "cache-ok"), `${base}/mirror/`);
  const progress = new Map<string, { received: number; total: number | undefined }>();
  const before = requests.length;
  const dir = await fashionMnistDir({
    env,
    systemDir: emptySystemDir,
    files: FILES,
    onProgress: (file, received, total) => progress.set(file, { received, total }),
  });
  assert.equal(dir, fashionMnistCacheDir(env));
  assert.deepEqual(
    requests.slice(before).sort(),
    Object.keys(BODIES)
      .map((f) => `/mirror/${f}`)
      .sort(),
  );
  for (const [name, body] of Object.entries(BODIES))
    assert.deepEqual(progress.get(name), { received: body.length, total: body.length });
  const testSplit = await loadFashionMnist("test", dir, false);
  assert.deepEqual([...testSplit.labels], [1, 8]);
  assert.deepEqual(testSplit.images, pixels(2, 11));

  const again = requests.length;
  assert.equal(await fashionMnistDir({ env, systemDir: emptySystemDir, files: FILES }), dir);
  assert.equal(requests.length, again, "a complete cache needs no request");
});

test("an installed copy is used without the network", async () => {
  const installed = join(tmp, "installed");
  mkdirSync(installed);
  for (const [name, body] of Object.entries(BODIES)) writeFileSync(join(installed, name), body);
  const before = requests.length;
  const dir = await fashionMnistDir({
    env: envFor(join(tmp, "cache-unused"), `${base}/`),
    systemDir: installed,
    files: FILES,
  });
  assert.equal(dir, installed);
  assert.equal(requests.length, before);
});

test("a download whose MD5 differs is refused and leaves nothing in the cache", async () => {
  const env = envFor(join(tmp, "cache-corrupt"), `${base}/corrupt`);
  await assert.rejects(
    fashionMnistDir({ env, systemDir: emptySystemDir, files: FILES }),
    (e: Error) =>
      /md5 mismatch for .*\/corrupt\/.*-ubyte\.gz: expected [0-9a-f]{32}, got [0-9a-f]{32}/.test(e.message) &&
      e.message.includes("apt-get install dataset-fashion-mnist") &&
      !e.message.includes("\n"),
  );
  const cache = fashionMnistCacheDir(env);
  assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], []);
});

test("no server: a one-line error that names the address and how to install the data", async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await assert.rejects(
    fashionMnistDir({
      env: envFor(join(tmp, "cache-down"), `http://127.0.0.1:${port}/`),
      systemDir: emptySystemDir,
      files: FILES,
    }),
    (e: Error) =>
      e.message.includes(`http://127.0.0.1:${port}/`) &&
      e.message.includes("apt-get install dataset-fashion-mnist") &&
      !e.message.includes("\n"),
  );
});

test("offline: no request, and the error says the network is off", async () => {
  const before = requests.length;
  await assert.rejects(
    fashionMnistDir({
      env: { ...envFor(join(tmp, "cache-offline"), `${base}/`), CONVNEXT_OFFLINE: "1" },
      systemDir: emptySystemDir,
      files: FILES,
    }),
    /the network is off: install it with `apt-get install dataset-fashion-mnist`/,
  );
  assert.equal(requests.length, before);
});
