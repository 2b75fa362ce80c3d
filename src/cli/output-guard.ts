/**
 * Before a command writes anything: its output must not be one of its inputs, and must carry the extension of
 * what is written. Identity is the file itself, not its spelling — the same device and inode when the output
 * exists (symlinks and hard links included), the real path of its folder plus its name when it does not — and
 * an output inside a model folder given as input (an HF `save_pretrained` directory) counts as that input.
 */
import type { Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { UsageError } from "./errors.ts";

/** A model folder holds a handful of files; past this many, the rest are not compared. */
const MAX_FOLDER_ENTRIES = 1000;

export interface CommandInput {
  /** How the command names it in messages: `--weights`, `--input`, `image`, … */
  flag: string;
  /** The path as given; undefined (an option left out) is skipped. */
  path: string | undefined;
  /** A directory input is a model folder: nothing may be written inside it. */
  folder?: boolean;
}

export interface OutputSpec {
  /** The option naming the output, for messages (`--output`). */
  flag: string;
  path: string;
  /** Accepted endings, lower case with the dot (`.safetensors`). */
  extensions: readonly string[];
  /** What is written, for the wrong-extension message ("ONNX", "safetensors"). */
  writes: string;
}

async function statOrUndefined(path: string) {
  return stat(path).catch(() => undefined);
}

/** The real path `path` would have: its folder resolved through symlinks, plus its name. */
async function realTarget(path: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  if (real !== undefined) return real;
  const dir = await realpath(dirname(resolve(path))).catch(() => dirname(resolve(path)));
  return join(dir, basename(path));
}

/** Throws one line (a usage error: exit 2) when `output` has the wrong extension or would replace (or land inside) one of `inputs`. */
export async function checkOutput(output: OutputSpec, inputs: readonly CommandInput[]): Promise<void> {
  const name = basename(output.path).toLowerCase();
  if (!output.extensions.some((ext) => name.endsWith(ext) && name.length > ext.length)) {
    throw new UsageError(
      `${output.flag} ${output.path}: must end in ${output.extensions.join(" or ")} (${output.writes} is written)`,
    );
  }
  // Found out now rather than after the work: the folder the output goes into must exist.
  const folder = await statOrUndefined(dirname(resolve(output.path)));
  if (!folder?.isDirectory())
    throw new UsageError(`${output.flag} ${output.path}: folder ${dirname(output.path)} does not exist`);
  await refuseInputAsOutput(output, inputs);
}

/** A folder output (`writes` names what goes in it): refused now, not after the work, when a file is in the way. */
export async function checkOutputFolder(output: {
  flag: string;
  path: string;
  writes: string;
}): Promise<void> {
  const found = await statOrUndefined(output.path);
  if (found && !found.isDirectory())
    throw new UsageError(
      `${output.flag} ${output.path}: exists and is not a folder (${output.writes} is written)`,
    );
}

/** Throws one line when writing `output` would replace (or land inside) one of `inputs`. */
export async function refuseInputAsOutput(
  output: { flag: string; path: string },
  inputs: readonly CommandInput[],
): Promise<void> {
  const outStat = await statOrUndefined(output.path);
  if (outStat?.isDirectory()) throw new UsageError(`${output.flag} ${output.path}: is a directory`);
  const outReal = await realTarget(output.path);
  for (const input of inputs) {
    if (input.path === undefined) continue;
    const inStat = await statOrUndefined(input.path);
    if (!inStat) continue; // the reader reports a missing input in its own words
    const inReal = await realpath(input.path).catch(() => resolve(input.path as string));
    const same =
      outReal === inReal ||
      (outStat !== undefined && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same)
      throw new UsageError(
        `${output.flag} ${output.path}: is the ${input.flag} file ${input.path}; refusing to overwrite an input`,
      );
    if (input.folder && inStat.isDirectory()) {
      if (outReal.startsWith(inReal + sep))
        throw new UsageError(
          `${output.flag} ${output.path}: lies inside the ${input.flag} folder ${input.path}; refusing to write into an input`,
        );
      // A model folder's files may be symlinks to files elsewhere (the Hub's cache lays folders out that way).
      const linked = await folderFileMatching(input.path, outReal, outStat);
      if (linked !== undefined)
        throw new UsageError(
          `${output.flag} ${output.path}: is ${linked} of the ${input.flag} folder; refusing to overwrite an input`,
        );
    }
  }
}

/** The folder's file (its own name, symlinks followed) that is `outReal` or the same inode as `outStat`. */
async function folderFileMatching(
  folder: string,
  outReal: string,
  outStat: Stats | undefined,
): Promise<string | undefined> {
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names.slice(0, MAX_FOLDER_ENTRIES)) {
    const path = join(folder, name);
    const st = await statOrUndefined(path);
    if (!st?.isFile()) continue;
    const real = await realpath(path).catch(() => undefined);
    if (real === outReal || (outStat !== undefined && outStat.dev === st.dev && outStat.ino === st.ino))
      return path;
  }
  return undefined;
}

/**
 * A folder a run writes its files into (made if missing): refused now, not at the first write, when a file is in
 * the way of it or of a folder above it, and when it lies inside the `data` folder it reads, whose class folders
 * the run's own files would then join.
 */
export async function checkRunFolder(flag: string, out: string, data?: string): Promise<void> {
  let at = resolve(out);
  for (;;) {
    const found = await statOrUndefined(at);
    if (found) {
      if (!found.isDirectory())
        throw new UsageError(
          `${flag} ${out}: ${at === resolve(out) ? "exists and" : `${at}`} is not a folder`,
        );
      break;
    }
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  const dataStat = data === undefined ? undefined : await statOrUndefined(data);
  if (data === undefined || !dataStat?.isDirectory()) return;
  const dataReal = await realpath(data);
  const outReal = await realTarget(out);
  if (outReal === dataReal || outReal.startsWith(dataReal + sep))
    throw new UsageError(
      `${flag} ${out}: lies inside the --data folder ${data}; the run's files would become data`,
    );
}
