/**
 * Fetching pretrained weights into a local cache: resumable HTTP download with sha256 verification, the cache
 * layout, and offline mode. Written on Node's fetch (undici's behind a proxy); the CLI draws the progress bar from
 * `onProgress`.
 *
 * Cache: `$CONVNEXT_CACHE`, else `$XDG_CACHE_HOME/convnext`, else `~/.cache/convnext`; a file lives at
 * `<cache>/<arch.tag>/<file name>`. A copy already in the Hugging Face Hub cache (`$HF_HUB_CACHE`, else
 * `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, as huggingface_hub lays it out) is used in place, read-only.
 * Offline (`CONVNEXT_OFFLINE=1` or `HF_HUB_OFFLINE=1`, or `offline: true`): the network is never touched.
 * Cached files are not re-hashed on every load (as huggingface_hub does); they were verified when written.
 * `HF_ENDPOINT` (as huggingface_hub reads it) replaces https://huggingface.co in download URLs: for mirrors,
 * and for tests against a local server. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured (proxy-node.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fetchWithProxy } from "./proxy-node.ts";
import { type PretrainedEntry, resolvePretrained, type WeightsFile } from "./registry.ts";

export type ProgressCallback = (received: number, total: number | undefined) => void;

export interface DownloadOptions {
  /** Expected sha256: the full hex digest, or a prefix of at least 8 hex digits (torch.hub file names). */
  sha256?: string;
  /** Expected MD5 (32 hex digits), for files whose publishers list only that (data sets). */
  md5?: string;
  /** Called with bytes on disk so far (resumed bytes included) and the full size when the server says it. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Refuse to use the network. Default: from CONVNEXT_OFFLINE / HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Times a dropped transfer is resumed before giving up (default 3). */
  retries?: number;
}

type Env = Record<string, string | undefined>;

const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);

/** The variable that turns offline mode on, or undefined. */
function offlineVariable(env: Env): string | undefined {
  return ["CONVNEXT_OFFLINE", "HF_HUB_OFFLINE"].find((k) =>
    TRUE_VALUES.has((env[k] ?? "").trim().toLowerCase()),
  );
}

export function isOffline(env: Env = process.env): boolean {
  return offlineVariable(env) !== undefined;
}

/** Why the network is off ("CONVNEXT_OFFLINE=1", "offline: true"), or undefined when it is on. */
function offlineReason(option: boolean | undefined, env: Env): string | undefined {
  if (option !== undefined) return option ? "offline: true" : undefined;
  const v = offlineVariable(env);
  return v && `${v}=${env[v]}`;
}

/** Root of this package's weight cache. */
export function cacheDir(env: Env = process.env): string {
  if (env.CONVNEXT_CACHE) return env.CONVNEXT_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "convnext");
  return join(homedir(), ".cache", "convnext");
}

/** Where `file` (default: the entry's preferred file) of `entry` is cached. */
export function cachePath(
  entry: PretrainedEntry,
  file: WeightsFile = entry.files[0],
  env: Env = process.env,
): string {
  return join(cacheDir(env), entry.name, basename(new URL(file.url).pathname));
}

/** The file in the Hugging Face Hub cache, if huggingface_hub already downloaded it. */
export function findInHubCache(
  entry: PretrainedEntry,
  file: WeightsFile,
  env: Env = process.env,
): string | undefined {
  const match = /^https:\/\/huggingface\.co\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(file.url);
  if (!match || !entry.hfHubId) return undefined;
  const [, owner, repo, revision, path] = match;
  const hub =
    env.HF_HUB_CACHE ??
    join(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface"), "hub");
  const repoDir = join(hub, `models--${owner}--${repo}`);
  const refFile = join(repoDir, "refs", revision);
  const snapshots = join(repoDir, "snapshots");
  const candidates = existsSync(refFile)
    ? [readFileSync(refFile, "utf8").trim()]
    : existsSync(snapshots)
      ? readdirSync(snapshots)
      : [];
  return candidates.map((c) => join(snapshots, c, path)).find((p) => existsSync(p));
}

/** `url` with https://huggingface.co replaced by `$HF_ENDPOINT` when that is set. */
export function hubUrl(url: string, env: Env = process.env): string {
  const hub = "https://huggingface.co/";
  const endpoint = env.HF_ENDPOINT?.trim().replace(/\/+$/, "");
  return endpoint && url.startsWith(hub) ? `${endpoint}/${url.slice(hub.length)}` : url;
}

class HttpError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

function checkDigestSpec(sha256: string): string {
  const s = sha256.trim().toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(s)) throw new Error(`sha256 must be 8 to 64 hex digits, got '${sha256}'`);
  return s;
}

function checkMd5Spec(md5: string): string {
  const s = md5.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(s)) throw new Error(`md5 must be 32 hex digits, got '${md5}'`);
  return s;
}

async function digestFile(path: string, algorithm: "sha256" | "md5"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256File(path: string): Promise<string> {
  return digestFile(path, "sha256");
}

/** One HTTP transfer into `part`, resuming from its current size when there is one. */
async function transfer(url: string, part: string, opts: DownloadOptions): Promise<void> {
  let offset = (await stat(part).catch(() => undefined))?.size ?? 0;
  const res = await fetchWithProxy(url, {
    headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
    signal: opts.signal,
    redirect: "follow",
  });
  let total: number | undefined;
  // fetch decompresses a compressed body, so its Content-Length would not count the bytes we write.
  const encoded = !["", "identity"].includes(res.headers.get("content-encoding") ?? "");
  const length = encoded ? null : res.headers.get("content-length");
  if (res.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== offset) {
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new HttpError(`${url}: server resumed at the wrong offset, restarting`, true);
    }
    total = range[2] === "*" ? undefined : Number(range[2]);
  } else if (res.status === 416) {
    // The part may already be complete; the server's full size decides.
    await res.body?.cancel();
    const size = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (size !== undefined && Number(size) === offset) return;
    await rm(part, { force: true });
    throw new HttpError(`${url}: cannot resume (HTTP 416), restarting`, true);
  } else if (res.ok) {
    // A server that ignores Range sends the whole file again: start over.
    offset = 0;
    total = length === null ? undefined : Number(length);
  } else {
    await res.body?.cancel();
    throw new HttpError(
      `${url}: HTTP ${res.status} ${res.statusText}`,
      res.status >= 500 || res.status === 429,
    );
  }
  if (!res.body) throw new HttpError(`${url}: empty response body`, true);

  const fh = await open(part, offset > 0 ? "a" : "w");
  let received = offset;
  try {
    opts.onProgress?.(received, total);
    for await (const chunk of Readable.fromWeb(
      res.body as import("node:stream/web").ReadableStream<Uint8Array>,
    )) {
      await fh.write(chunk as Uint8Array);
      received += (chunk as Uint8Array).length;
      opts.onProgress?.(received, total);
    }
  } finally {
    await fh.close();
  }
  if (total !== undefined && received !== total) {
    throw new HttpError(`${url}: connection closed after ${received} of ${total} bytes`, true);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Downloads `url` to `dest`: streams into `dest.part` (resuming a partial one with an HTTP Range request),
 * verifies the sha256 and/or MD5 if given (a mismatch deletes the download and throws naming both digests), then
 * renames into place atomically. Returns `dest`.
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const offline = offlineReason(opts.offline, process.env);
  if (offline) throw new Error(`offline mode (${offline}): not downloading ${url}`);
  const expected = opts.sha256 === undefined ? undefined : checkDigestSpec(opts.sha256);
  const expectedMd5 = opts.md5 === undefined ? undefined : checkMd5Spec(opts.md5);
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await transfer(url, part, opts);
      break;
    } catch (err) {
      const e = err as Error;
      const retryable =
        !opts.signal?.aborted &&
        (e instanceof HttpError ? e.retryable : e.name !== "AbortError") &&
        attempt < retries;
      if (!retryable) {
        const reason =
          e instanceof HttpError ? e.message : `${url}: ${e.message}${e.cause ? ` (${e.cause})` : ""}`;
        const kept = existsSync(part) ? `; partial file kept at ${part} for resuming` : "";
        throw new Error(`download failed: ${reason}${kept}`);
      }
      await sleep(Math.min(250 * 2 ** attempt, 4000));
    }
  }
  if (expected !== undefined) {
    const actual = await sha256File(part);
    if (!actual.startsWith(expected)) {
      await rm(part, { force: true });
      const what = expected.length === 64 ? expected : `a digest starting ${expected}`;
      throw new Error(`sha256 mismatch for ${url}: expected ${what}, got ${actual} (download deleted)`);
    }
  }
  if (expectedMd5 !== undefined) {
    const actual = await digestFile(part, "md5");
    if (actual !== expectedMd5) {
      await rm(part, { force: true });
      throw new Error(`md5 mismatch for ${url}: expected ${expectedMd5}, got ${actual} (download deleted)`);
    }
  }
  await rename(part, dest);
  return dest;
}

export interface FetchOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  offline?: boolean;
  /** Environment to read the cache and offline variables from (default process.env). */
  env?: Env;
}

export interface FetchedWeights {
  path: string;
  entry: PretrainedEntry;
  /** Which of the entry's files `path` is (its format and key naming). */
  file: WeightsFile;
}

/**
 * Local copy of pretrained weights (a registry name, or an entry for weights the table does not know): from
 * the cache if present, else downloaded (the entry's files in order, falling back to the next source when one
 * fails). Offline mode only looks in the caches.
 */
export async function fetchPretrainedFile(
  weights: string | PretrainedEntry,
  opts: FetchOptions = {},
): Promise<FetchedWeights> {
  const env = opts.env ?? process.env;
  const entry = typeof weights === "string" ? resolvePretrained(weights) : weights;
  for (const file of entry.files) {
    const local = cachePath(entry, file, env);
    if (existsSync(local)) return { path: local, entry, file };
    const hub = findInHubCache(entry, file, env);
    if (hub) return { path: hub, entry, file };
  }
  const offline = offlineReason(opts.offline, env);
  if (offline) {
    const looked = entry.files.map((f) => cachePath(entry, f, env)).join(", ");
    throw new Error(`${entry.name} is not cached (looked for ${looked}) and offline mode is on (${offline})`);
  }
  const failures: string[] = [];
  for (const file of entry.files) {
    try {
      const path = await download(hubUrl(file.url, env), cachePath(entry, file, env), {
        sha256: file.sha256 ?? file.sha256Prefix,
        onProgress: opts.onProgress,
        signal: opts.signal,
        offline: false,
      });
      return { path, entry, file };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      failures.push((err as Error).message);
    }
  }
  throw new Error(`could not fetch ${entry.name}: ${failures.join(" | ")}`);
}

/** Path of a local copy of the named weights (see fetchPretrainedFile). */
export async function fetchPretrained(
  weights: string | PretrainedEntry,
  opts: FetchOptions = {},
): Promise<string> {
  return (await fetchPretrainedFile(weights, opts)).path;
}
