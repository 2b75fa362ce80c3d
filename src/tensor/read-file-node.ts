/**
 * The one way inputs are read from a path: regular files only, size checked against a limit before anything is
 * read, then exactly that many bytes. `/dev/zero`, a FIFO or a directory would otherwise make `readFile` wait
 * forever or grow memory without bound; opening non-blocking keeps a FIFO with no writer from hanging `open`.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { formatBytes } from "./limits.ts";

export interface BoundedReadOptions {
  /** Refuse files larger than this many bytes. */
  maxBytes: number;
  /** What the file is, for messages ("checkpoint", "image"). */
  what: string;
  /** How to raise the limit, appended to the too-large message. */
  raiseHint?: string;
}

function describeKind(s: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
}): string {
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a pipe (FIFO)";
  if (s.isCharacterDevice()) return "a device";
  return "not a regular file";
}

/** Reads a whole regular file, refusing anything else or anything larger than `maxBytes`. */
export async function readBoundedFile(path: string, opts: BoundedReadOptions): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file or directory" : (err.code ?? err.message);
    throw new Error(`${path}: cannot read ${opts.what} (${why})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path}: cannot read ${opts.what}: it is ${describeKind(info)}`);
    if (info.size > opts.maxBytes) {
      throw new Error(
        `${path}: ${opts.what} is ${formatBytes(info.size)}, over the limit of ${formatBytes(opts.maxBytes)}${opts.raiseHint ? ` (${opts.raiseHint})` : ""}`,
      );
    }
    let out: Uint8Array;
    try {
      out = new Uint8Array(info.size);
    } catch {
      throw new Error(`${path}: ${opts.what} is ${formatBytes(info.size)}, more than this process can hold`);
    }
    let at = 0;
    while (at < out.length) {
      const { bytesRead } = await handle.read(out, at, out.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    if (at !== out.length) throw new Error(`${path}: ${opts.what} shrank while it was read`);
    return out;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === undefined) throw e;
    throw new Error(`${path}: cannot read ${opts.what} (${err.code})`);
  } finally {
    await handle.close().catch(() => {});
  }
}
