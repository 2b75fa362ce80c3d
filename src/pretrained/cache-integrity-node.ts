/**
 * What the weight cache knows about each file it holds: a sidecar `<file>.sha256.json`, written after a checked
 * download, records the file's sha256 and size, what the digest was checked against (the table's digest, the
 * server's `X-Linked-Etag`, or nothing when neither said one) and the URL.
 *
 * Every use checks the size against the record: one stat catches a truncated or overwritten file. The full
 * sha256 is computed again only when asked (`verify`, `CONVNEXT_VERIFY=1`): re-hashing a 350 MB file on every
 * load would cost more than the load (huggingface_hub leaves that to `hf cache verify` too). A file cached
 * before sidecars existed is hashed once, compared with the table's digest and given its record.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { writeFileAtomic } from "../checkpoint/write-atomic-node.ts";

export interface CacheRecord {
  sha256: string;
  size: number;
  url: string;
  /** Where the digest came from that the download matched: "table", "server"; empty when none was known. */
  checkedAgainst: string[];
}

export async function digestFile(path: string, algorithm: "sha256" | "md5"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sidecarPath(file: string): string {
  return `${file}.sha256.json`;
}

export async function writeCacheRecord(file: string, record: CacheRecord): Promise<void> {
  await writeFileAtomic(sidecarPath(file), new TextEncoder().encode(`${JSON.stringify(record, null, 1)}\n`));
}

async function readCacheRecord(file: string): Promise<CacheRecord | null> {
  try {
    const r = JSON.parse(await readFile(sidecarPath(file), "utf8")) as CacheRecord;
    return typeof r.sha256 === "string" && Number.isSafeInteger(r.size) ? r : null;
  } catch {
    return null; // none, or damaged: the file is hashed again
  }
}

/** Deletes a cached file and its record. */
export async function dropCached(file: string): Promise<void> {
  await rm(file, { force: true });
  await rm(sidecarPath(file), { force: true });
}

/**
 * Why the cached `file` cannot be used, or null when it passes. `expected`: the table's sha256 or its prefix.
 */
export async function cachedFileProblem(
  file: string,
  opts: { expected?: string; verify: boolean },
): Promise<string | null> {
  const size = (await stat(file)).size;
  const record = await readCacheRecord(file);
  const expected = opts.expected?.toLowerCase();
  if (!record) {
    const actual = await digestFile(file, "sha256");
    if (expected && !actual.startsWith(expected))
      return `its sha256 ${actual} is not the expected ${expected}`;
    // Best effort: a read-only cache stays usable, it is only hashed again next time.
    await writeCacheRecord(file, {
      sha256: actual,
      size,
      url: "",
      checkedAgainst: expected ? ["table"] : [],
    }).catch(() => {});
    return null;
  }
  if (record.size !== size) return `it is ${size} bytes, the download was ${record.size}`;
  if (expected && !record.sha256.startsWith(expected))
    return `its recorded sha256 ${record.sha256} is not the expected ${expected}`;
  if (opts.verify) {
    const actual = await digestFile(file, "sha256");
    if (actual !== record.sha256) return `its sha256 is ${actual}, the download's was ${record.sha256}`;
  }
  return null;
}
