/**
 * Fetching pretrained weights into a local cache: resumable HTTP download with sha256 verification, the cache
 * layout, and offline mode. Written on Node's fetch (undici's behind a proxy); the CLI draws the progress bar from
 * `onProgress`.
 *
 * A download is checked against every digest known: the table's (full, or torch.hub's file-name prefix) and the
 * server's — the Hugging Face Hub names each LFS file's sha256 in `X-Linked-Etag` on the redirect it answers
 * with, so redirects are followed by hand to read it. A mismatch deletes the download. The sha256 and size are
 * recorded beside the cached file (cache-integrity-node.ts) and the size is checked on every use, the full
 * digest when asked (`verify`, `CONVNEXT_VERIFY=1`); a damaged file is downloaded again, or refused in one
 * line when offline.
 *
 * Cache: `$CONVNEXT_CACHE`, else `$XDG_CACHE_HOME/convnext`, else `~/.cache/convnext`; a file lives at
 * `<cache>/<arch.tag>/<file name>`. A copy already in the Hugging Face Hub cache (`$HF_HUB_CACHE`, else
 * `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, as huggingface_hub lays it out) is used in place, read-only.
 * Offline (`CONVNEXT_OFFLINE=1` or `HF_HUB_OFFLINE=1`, or `offline: true`): the network is never touched.
 * `HF_ENDPOINT` (as huggingface_hub reads it) replaces https://huggingface.co in download URLs: for mirrors,
 * and for tests against a local server. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured (proxy-node.ts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { cachedFileProblem, digestFile, dropCached, writeCacheRecord } from "./cache-integrity-node.ts";
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

export function sha256File(path: string): Promise<string> {
  return digestFile(path, "sha256");
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** The sha256 the Hub names for an LFS file: `X-Linked-Etag: "<64 hex>"` (other etags are not sha256s). */
function linkedSha256(headers: Headers): string | undefined {
  const tag = (headers.get("x-linked-etag") ?? "")
    .trim()
    .replace(/^W\//, "")
    .replace(/^"|"$/g, "")
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(tag) ? tag : undefined;
}

/** GET with redirects followed by hand, so every hop's headers can be read (fetch shows only the last). */
async function get(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<{ res: Response; sha256?: string }> {
  let sha256: string | undefined;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await fetchWithProxy(current, { headers, signal, redirect: "manual" });
    sha256 = linkedSha256(res.headers) ?? sha256;
    const location = res.headers.get("location");
    if (!REDIRECT_STATUS.has(res.status) || !location) return { res, sha256 };
    await res.body?.cancel();
    current = new URL(location, current).href;
  }
  throw new HttpError(`${url}: more than ${MAX_REDIRECTS} redirects`, false);
}

/**
 * One HTTP transfer into `part`, resuming from its current size when there is one. Returns the sha256 the
 * server named for the file, if it did.
 */
async function transfer(url: string, part: string, opts: DownloadOptions): Promise<string | undefined> {
  let offset = (await stat(part).catch(() => undefined))?.size ?? 0;
  const { res, sha256 } = await get(url, offset > 0 ? { Range: `bytes=${offset}-` } : {}, opts.signal);
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
    if (size !== undefined && Number(size) === offset) return sha256;
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
  return sha256;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A finished download: where it is, its sha256 and size, and which known digests it matched. */
export interface Downloaded {
  path: string;
  sha256: string;
  size: number;
  /** "table" (the caller's sha256 or prefix), "server" (X-Linked-Etag); empty when no digest was known. */
  checkedAgainst: string[];
}

/**
 * Downloads `url` to `dest`: streams into `dest.part` (resuming a partial one with an HTTP Range request),
 * checks the sha256 against the given one (or prefix) and the server's, and the MD5 if given (a mismatch
 * deletes the download and throws naming both digests), then renames into place atomically.
 */
export async function downloadChecked(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<Downloaded> {
  const offline = offlineReason(opts.offline, process.env);
  if (offline) throw new Error(`offline mode (${offline}): not downloading ${url}`);
  const expected = opts.sha256 === undefined ? undefined : checkDigestSpec(opts.sha256);
  const expectedMd5 = opts.md5 === undefined ? undefined : checkMd5Spec(opts.md5);
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = opts.retries ?? 3;
  let serverSha256: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      serverSha256 = (await transfer(url, part, opts)) ?? serverSha256;
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
  const refuse = async (what: string): Promise<never> => {
    await rm(part, { force: true });
    throw new Error(`${what} (download deleted)`);
  };
  const actual = await digestFile(part, "sha256");
  const checkedAgainst: string[] = [];
  if (expected !== undefined) {
    const what = expected.length === 64 ? expected : `a digest starting ${expected}`;
    if (!actual.startsWith(expected))
      await refuse(`sha256 mismatch for ${url}: expected ${what}, got ${actual}`);
    checkedAgainst.push("table");
  }
  if (serverSha256 !== undefined) {
    if (actual !== serverSha256)
      await refuse(
        `sha256 mismatch for ${url}: the server names ${serverSha256} (X-Linked-Etag), got ${actual}`,
      );
    checkedAgainst.push("server");
  }
  if (expectedMd5 !== undefined) {
    const md5 = await digestFile(part, "md5");
    if (md5 !== expectedMd5) await refuse(`md5 mismatch for ${url}: expected ${expectedMd5}, got ${md5}`);
  }
  const size = (await stat(part)).size;
  await rename(part, dest);
  return { path: dest, sha256: actual, size, checkedAgainst };
}

/** downloadChecked, returning the path. */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  return (await downloadChecked(url, dest, opts)).path;
}

export interface FetchOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  offline?: boolean;
  /** Environment to read the cache and offline variables from (default process.env). */
  env?: Env;
  /** Re-hash cached files against their recorded sha256 (default: from CONVNEXT_VERIFY). */
  verify?: boolean;
  /** Told when a damaged cached file is set aside (default: a line on stderr). */
  onNotice?: (line: string) => void;
}

export interface FetchedWeights {
  path: string;
  entry: PretrainedEntry;
  /** Which of the entry's files `path` is (its format and key naming). */
  file: WeightsFile;
}

/** Why a file in the Hugging Face Hub cache fails a full check: its blob is named by its sha256 (LFS files). */
async function hubFileProblem(path: string, expected: string | undefined): Promise<string | null> {
  const actual = await digestFile(path, "sha256");
  const blob = basename(await realpath(path));
  if (/^[0-9a-f]{64}$/.test(blob) && blob !== actual)
    return `its sha256 ${actual} is not its blob name ${blob}`;
  if (expected && !actual.startsWith(expected)) return `its sha256 ${actual} is not the expected ${expected}`;
  return null;
}

/** A usable cached copy of `file` (ours, else the Hub cache's), or why the one found is not usable. */
async function cachedCopy(
  entry: PretrainedEntry,
  file: WeightsFile,
  env: Env,
  verify: boolean,
): Promise<{ path?: string; problem?: string; ours?: boolean }> {
  const expected = file.sha256 ?? file.sha256Prefix;
  const local = cachePath(entry, file, env);
  if (existsSync(local)) {
    const problem = await cachedFileProblem(local, { expected, verify });
    return problem ? { problem: `${local}: ${problem}`, ours: true, path: local } : { path: local };
  }
  const hub = findInHubCache(entry, file, env);
  if (!hub) return {};
  const problem = verify ? await hubFileProblem(hub, expected) : null;
  return problem ? { problem: `${hub}: ${problem}` } : { path: hub };
}

/**
 * Local copy of pretrained weights (a registry name, or an entry for weights the table does not know): from
 * the cache if present and intact, else downloaded (the entry's files in order, falling back to the next source
 * when one fails). Offline mode only looks in the caches. A damaged cached file is deleted and downloaded again;
 * offline, it is an error.
 */
export async function fetchPretrainedFile(
  weights: string | PretrainedEntry,
  opts: FetchOptions = {},
): Promise<FetchedWeights> {
  const env = opts.env ?? process.env;
  const entry = typeof weights === "string" ? resolvePretrained(weights) : weights;
  const verify = opts.verify ?? TRUE_VALUES.has((env.CONVNEXT_VERIFY ?? "").trim().toLowerCase());
  const damaged: { path: string; problem: string; ours: boolean }[] = [];
  for (const file of entry.files) {
    const found = await cachedCopy(entry, file, env, verify);
    if (found.path && !found.problem) return { path: found.path, entry, file };
    if (found.problem) damaged.push({ path: found.path ?? "", problem: found.problem, ours: !!found.ours });
  }
  const offline = offlineReason(opts.offline, env);
  if (offline) {
    if (damaged.length)
      throw new Error(
        `${damaged[0].problem}: the cached file is damaged and offline mode is on (${offline}); delete it, or go online to download it again`,
      );
    const looked = entry.files.map((f) => cachePath(entry, f, env)).join(", ");
    throw new Error(`${entry.name} is not cached (looked for ${looked}) and offline mode is on (${offline})`);
  }
  const notice = opts.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const d of damaged) {
    if (d.ours) await dropCached(d.path);
    notice(`${d.problem}; downloading it again`);
  }
  const failures: string[] = [];
  for (const file of entry.files) {
    const dest = cachePath(entry, file, env);
    try {
      const got = await downloadChecked(hubUrl(file.url, env), dest, {
        sha256: file.sha256 ?? file.sha256Prefix,
        onProgress: opts.onProgress,
        signal: opts.signal,
        offline: false,
      });
      const { path, ...record } = got;
      await writeCacheRecord(path, { ...record, url: file.url });
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
