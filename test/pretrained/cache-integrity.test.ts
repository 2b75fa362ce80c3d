// Downloads are checked against the server's sha256 (the Hub's X-Linked-Etag on its redirect) as well as the
// table's; the cache records each file's sha256 and size beside it and checks them on use. Everything runs
// against a local server on 127.0.0.1 that answers like the Hub: a 302 carrying X-Linked-Etag, then the bytes.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { sidecarPath } from "../../src/pretrained/cache-integrity-node.ts";
import { fetchPretrainedFile } from "../../src/pretrained/download-node.ts";
import { type PretrainedEntry, resolvePretrained } from "../../src/pretrained/registry.ts";
import { localServer, tempDir } from "../helpers.ts";

const BODY = randomBytes(200_000);
const SHA = createHash("sha256").update(BODY).digest("hex");
const WRONG = createHash("sha256").update("something else").digest("hex");

const tmp = tempDir("convnext-cache-");
const requests: string[] = [];

/** `/timm/...`: the Hub (302 + X-Linked-Etag); `/wrong/...`: a Hub naming a wrong digest; `/cdn/...`: bytes. */
function serve(req: IncomingMessage, res: ServerResponse) {
  const path = req.url ?? "/";
  requests.push(path);
  if (path.startsWith("/cdn/")) {
    res.writeHead(200, { "content-length": BODY.length });
    res.end(BODY);
    return;
  }
  const etag = path.startsWith("/wrong/") ? WRONG : SHA;
  res.writeHead(302, { location: `/cdn${path}`, "x-linked-etag": `"${etag}"`, etag: '"not-a-sha256"' });
  res.end();
}

const server = localServer(serve);

/** An entry with one file at `path` on the local server (no digest in the table unless given). */
function entryAt(name: string, path: string, sha256?: string): PretrainedEntry {
  return {
    ...resolvePretrained("convnext_tiny.fb_in1k"),
    name,
    hfHubId: undefined,
    files: [
      { url: `${server.base()}${path}`, format: "safetensors", keys: "timm", ...(sha256 ? { sha256 } : {}) },
    ],
  };
}

function quietly(env: Record<string, string>, extra: { verify?: boolean; offline?: boolean } = {}) {
  const notices: string[] = [];
  return { notices, opts: { env, offline: false, ...extra, onNotice: (l: string) => notices.push(l) } };
}

test("the Hub's X-Linked-Etag is checked and recorded beside the cached file", async () => {
  const env = {
    CONVNEXT_CACHE: join(tmp, "hub-ok"),
    HF_ENDPOINT: server.base(),
    HF_HUB_CACHE: join(tmp, "none"),
  };
  // A real table entry, fetched through HF_ENDPOINT: its safetensors has no digest in the table.
  const got = await fetchPretrainedFile("convnext_tiny.fb_in1k", quietly(env).opts);
  assert.deepEqual(readFileSync(got.path), BODY);
  assert.ok(requests.includes("/timm/convnext_tiny.fb_in1k/resolve/main/model.safetensors"));
  const record = JSON.parse(readFileSync(sidecarPath(got.path), "utf8"));
  assert.deepEqual(record, { sha256: SHA, size: BODY.length, checkedAgainst: ["server"], url: record.url });
  assert.match(record.url, /^https:\/\/huggingface\.co\/timm\/convnext_tiny\.fb_in1k\//);
  // With the table's digest as well, both are named.
  const both = await fetchPretrainedFile(entryAt("both.t", "/timm/b", SHA), quietly(env).opts);
  assert.deepEqual(JSON.parse(readFileSync(sidecarPath(both.path), "utf8")).checkedAgainst, [
    "table",
    "server",
  ]);
});

test("a download whose bytes differ from the server's digest is refused and nothing is cached", async () => {
  const cache = join(tmp, "hub-wrong");
  const { opts } = quietly({ CONVNEXT_CACHE: cache });
  await assert.rejects(
    fetchPretrainedFile(entryAt("wrong.t", "/wrong/model.safetensors"), opts),
    (e: Error) => {
      assert.ok(!e.message.includes("\n"), e.message);
      assert.match(
        e.message,
        new RegExp(`server names ${WRONG} \\(X-Linked-Etag\\), got ${SHA} \\(download deleted\\)`),
      );
      return true;
    },
  );
  assert.deepEqual(readdirSync(join(cache, "wrong.t")), []);
});

test("a truncated cached file is caught by its size: downloaded again, or one line when offline", async () => {
  const env = { CONVNEXT_CACHE: join(tmp, "truncated") };
  const entry = entryAt("cut.t", "/timm/cut");
  const first = await fetchPretrainedFile(entry, quietly(env).opts);
  truncateSync(first.path, 1000);
  await assert.rejects(fetchPretrainedFile(entry, { env, offline: true }), (e: Error) => {
    assert.ok(!e.message.includes("\n"), e.message);
    assert.match(
      e.message,
      /cut\.t\/cut: it is 1000 bytes, the download was 200000: the cached file is damaged and offline mode is on/,
    );
    return true;
  });
  const before = requests.length;
  const { notices, opts } = quietly(env);
  const again = await fetchPretrainedFile(entry, opts);
  assert.deepEqual(readFileSync(again.path), BODY);
  assert.equal(requests.length, before + 2, "one redirect and one transfer");
  assert.match(notices.join("\n"), /it is 1000 bytes, the download was 200000; downloading it again/);
  // Intact now: the next use makes no request.
  await fetchPretrainedFile(entry, opts);
  assert.equal(requests.length, before + 2);
});

test("a corrupted cached file of the right size is caught when asked to verify (option or CONVNEXT_VERIFY)", async () => {
  const env = { CONVNEXT_CACHE: join(tmp, "flipped") };
  const entry = entryAt("flip.t", "/timm/flip");
  const { path } = await fetchPretrainedFile(entry, quietly(env).opts);
  const bytes = readFileSync(path);
  bytes[12345] ^= 1;
  writeFileSync(path, bytes);
  // The size check alone cannot see it.
  assert.equal((await fetchPretrainedFile(entry, { env, offline: true })).path, path);
  await assert.rejects(
    fetchPretrainedFile(entry, { env: { ...env, CONVNEXT_VERIFY: "1" }, offline: true }),
    new RegExp(
      `flip\\.t/flip: its sha256 is [0-9a-f]{64}, the download's was ${SHA}: the cached file is damaged`,
    ),
  );
  const { notices, opts } = quietly(env, { verify: true });
  const again = await fetchPretrainedFile(entry, opts);
  assert.deepEqual(readFileSync(again.path), BODY);
  assert.equal(notices.length, 1);
});

test("a file cached before records existed is hashed once against the table's digest", async () => {
  const env = { CONVNEXT_CACHE: join(tmp, "legacy") };
  const good = entryAt("old.t", "/timm/old", SHA);
  const path = join(env.CONVNEXT_CACHE, "old.t", "old");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, BODY);
  const before = requests.length;
  assert.equal((await fetchPretrainedFile(good, { env, offline: true })).path, path);
  assert.equal(JSON.parse(readFileSync(sidecarPath(path), "utf8")).sha256, SHA);
  assert.equal(requests.length, before);
  // Not the table's digest: refused.
  rmSync(sidecarPath(path));
  writeFileSync(path, "other bytes");
  await assert.rejects(
    fetchPretrainedFile(good, { env, offline: true }),
    new RegExp(`old\\.t/old: its sha256 [0-9a-f]{64} is not the expected ${SHA}`),
  );
  assert.ok(existsSync(path), "offline: the file is left for the user");
});
