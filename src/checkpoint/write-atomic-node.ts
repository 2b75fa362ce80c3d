/**
 * Atomic file writes (Node only), the one helper every command writes its outputs with. Each file goes to a temp
 * file beside its target, is fsynced, renamed over the target, and then the directory is fsynced: the rename is
 * atomic at once but only durable once the directory entry is on disk, so without that sync a power cut can
 * bring the old file back (or none).
 *
 * Several files can be committed as a group: every temp file is written and synced first, then they are renamed
 * in the order given. A kill can then only land between two renames (microseconds), where the earlier targets
 * are new and the later ones old; a caller that needs two files to agree puts the one that is the truth first
 * and repairs the other on its next start (train/checkpoint-node.ts does).
 *
 * Temp names are `.<target>.<pid>.<12 hex>.tmp`. Interrupted by SIGINT or SIGTERM that nothing else handles,
 * a writer removes its temp files and then dies of the signal as it would have. A writer killed outright leaves
 * them behind; `removeStaleTemps` deletes those whose pid is not a live process on this machine, so a concurrent
 * writer's file is never taken from under it. pids are per machine: a directory written from two machines at
 * once is not supported.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync } from "node:fs";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** One file of a group: its bytes, or a function making them (so a group never holds every file at once). */
export interface AtomicFile {
  path: string;
  bytes: Uint8Array | (() => Uint8Array);
}

const TEMP = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** A fresh temp name beside `path`, carrying this process's pid. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** Temp files this process is writing now. */
const liveTemps = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Listens for the signals only while a temp file exists. When another listener handles the signal (a training
 * run's Ctrl-C stops it cleanly, and its writes finish), this one stands aside; otherwise it removes the temp
 * files and re-raises the signal with its default action, so the exit status is the signal's.
 */
function onSignal(signal: (typeof SIGNALS)[number]): void {
  if (process.listenerCount(signal) > 1) return;
  for (const temp of liveTemps) rmSync(temp, { force: true });
  liveTemps.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

function trackTemp(temp: string): void {
  if (liveTemps.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  liveTemps.add(temp);
}

function untrackTemp(temp: string): void {
  liveTemps.delete(temp);
  if (liveTemps.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/**
 * A new empty temp file beside `path`, watched by the signal handler until `releaseTempFile`. Created on this
 * thread, not by a pending asynchronous open: a signal handled meanwhile finds it, or it does not exist yet.
 */
export function createTempFile(path: string): string {
  const temp = tempPathFor(path);
  closeSync(openSync(temp, "wx"));
  trackTemp(temp);
  return temp;
}

/** The temp file was renamed into place or removed: the signal handler no longer needs to. */
export function releaseTempFile(temp: string): void {
  untrackTemp(temp);
}

/** Whether `pid` is a running process here (EPERM: it runs under another user). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface RemovedTemps {
  files: string[];
  bytes: number;
}

/**
 * Deletes the temp files in `dir` left by killed writers (their pid no longer runs), only for the targets in
 * `targets` when given. Best effort: a file that cannot be removed is left for the next time.
 */
export async function removeStaleTemps(dir: string, targets?: readonly string[]): Promise<RemovedTemps> {
  const removed: RemovedTemps = { files: [], bytes: 0 };
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || (targets && !targets.includes(m[1])) || alive(Number(m[2]))) continue;
    const path = join(dir, name);
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (
      await rm(path).then(
        () => true,
        () => false,
      )
    ) {
      removed.files.push(path);
      removed.bytes += size;
    }
  }
  return removed;
}

/** fsync of a directory, so the renames in it survive a power cut. Windows cannot open a directory. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (e) {
    // Some filesystems (FUSE, network mounts) do not implement it: there is nothing more to do there.
    if (!["EINVAL", "ENOTSUP"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    await handle.close();
  }
}

/**
 * Writes every file of the group to its temp file, then renames them into place in order and syncs their
 * directories. On failure no temp file is left and the message names the file: targets renamed before the
 * failure keep their new contents, the rest their old.
 */
export async function writeFilesAtomic(files: readonly AtomicFile[]): Promise<void> {
  const temps: (string | null)[] = [];
  let current = files[0]?.path ?? "";
  try {
    for (const dir of new Set(files.map((f) => dirname(f.path)))) {
      await removeStaleTemps(
        dir,
        files.filter((f) => dirname(f.path) === dir).map((f) => basename(f.path)),
      );
    }
    for (const f of files) {
      current = f.path;
      // Made before the temp file exists: a kill while serialising leaves nothing behind.
      const bytes = typeof f.bytes === "function" ? f.bytes() : f.bytes;
      const temp = createTempFile(f.path);
      temps.push(temp);
      const handle = await open(temp, "r+");
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [i, f] of files.entries()) {
      current = f.path;
      await rename(temps[i] as string, f.path);
      releaseTempFile(temps[i] as string);
      temps[i] = null;
    }
    for (const dir of new Set(files.map((f) => dirname(f.path)))) {
      current = dir;
      await syncDir(dir);
    }
  } catch (e) {
    await Promise.all(temps.map((t) => t && rm(t, { force: true }).catch(() => {})));
    for (const t of temps) if (t) releaseTempFile(t);
    throw new Error(`cannot write ${current}: ${(e as Error).message}`);
  }
}

/** Writes `bytes` to `path` atomically and durably (see the header). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeFilesAtomic([{ path, bytes }]);
}
