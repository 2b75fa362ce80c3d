/**
 * `convnext embed <images|dirs…>`: pooled embeddings (`pre_logits`) and/or feature maps of images.
 * Output: `.safetensors` holds one tensor per feature stacked over the images (N, ...), with the image paths
 * as a `files` JSON list in the metadata; `.jsonl` (or stdout) holds one line per image,
 * `{"file": …, "<feature>": nested lists}`. Bad files follow the rules of `classify`; an output file is written
 * (atomically) only when no file named on the command line failed.
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { type Command, Option } from "commander";
import { stackTensors } from "../api/classifier.ts";
import { preprocessToJson } from "../api/image-preprocess.ts";
import { createTempFile, releaseTempFile } from "../checkpoint/write-atomic-node.ts";
import { FEATURE_OUTPUTS, type FeatureName } from "../models/convnext.ts";
import type { Float32Tensor, HostTensor } from "../tensor/host-tensor.ts";
import { addModelOptions, type ImageCommandOptions, openImageModel, walkImages } from "./classify.ts";
import { checkOutput } from "./output-guard.ts";
import { featureListOption } from "./options.ts";
import { writeTensorFile } from "./tensor-files.ts";

/** A tensor as nested lists, as `tensor.tolist()` gives it. */
function nested(t: Float32Tensor): unknown {
  const build = (axis: number, offset: number): unknown => {
    if (axis === t.dims.length) return t.data[offset];
    const stride = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.dims[axis] }, (_, i) => build(axis + 1, offset + i * stride));
  };
  return build(0, 0);
}

/** Lines written to a temp file beside `path`, renamed into place by `commit` (so no half-written output). */
async function atomicLines(path: string) {
  const cannot = (e: unknown) => new Error(`cannot write ${path}: ${(e as Error).message}`);
  let temp: string;
  try {
    temp = createTempFile(path);
  } catch (e) {
    throw cannot(e);
  }
  let fh: FileHandle | undefined = await open(temp, "r+").catch(async (e: unknown) => {
    await rm(temp, { force: true });
    releaseTempFile(temp);
    throw cannot(e);
  });
  return {
    write: async (line: string) => {
      await fh?.write(line);
    },
    commit: async () => {
      await fh?.sync();
      await fh?.close();
      fh = undefined;
      await rename(temp, path);
      releaseTempFile(temp);
    },
    abort: async () => {
      await fh?.close().catch(() => {});
      await rm(temp, { force: true });
      releaseTempFile(temp);
    },
  };
}

type EmbedOptions = ImageCommandOptions & { features: FeatureName[]; output?: string };

export function register(program: Command): void {
  addModelOptions(
    program
      .command("embed <inputs...>")
      .description("embeddings (pre_logits) and/or feature maps of images (files or directories)"),
  )
    .addOption(
      new Option("--features <list>", `comma-separated, from ${FEATURE_OUTPUTS.join(", ")}`)
        .argParser(featureListOption("--features"))
        .default(["pre_logits"], "pre_logits"),
    )
    .option(
      "--output <file>",
      "file.safetensors (stacked tensors) or file.jsonl (default: JSON lines on stdout)",
    )
    .action(async (inputs: string[], opts: EmbedOptions) => {
      const features = opts.features;
      const out = opts.output;
      const format =
        out === undefined ? "stdout" : out.toLowerCase().endsWith(".safetensors") ? "safetensors" : "jsonl";
      if (out !== undefined) {
        await checkOutput(
          {
            flag: "--output",
            path: out,
            extensions: [".safetensors", ".jsonl"],
            writes: "safetensors or JSON lines",
          },
          [
            ...inputs.map((path) => ({ flag: "input", path })),
            { flag: "--weights", path: opts.weights, folder: true },
          ],
        );
      }
      const clf = await openImageModel(opts);
      const lines = format === "jsonl" ? await atomicLines(out as string) : undefined;
      const rows: Float32Tensor[][] = features.map(() => []);
      const files: string[] = [];
      try {
        const summary = await walkImages(
          clf,
          inputs,
          { features, batch: opts.batch, stdoutIsOutput: format === "stdout" },
          async (item) => {
            const file = item.file as string;
            if (format === "safetensors") {
              features.forEach((f, k) => {
                rows[k].push(item.features[f] as Float32Tensor);
              });
              files.push(file);
              return;
            }
            const record: Record<string, unknown> = { file };
            for (const f of features) record[f] = nested(item.features[f] as Float32Tensor);
            const line = `${JSON.stringify(record)}\n`;
            if (lines) await lines.write(line);
            else process.stdout.write(line);
          },
        );
        // Output is all or nothing: a named input that failed leaves no file behind (exit code 1 is set).
        if (summary.failed > 0) {
          await lines?.abort();
          if (out !== undefined && summary.ok > 0)
            process.stderr.write(`convnext: ${out}: not written (${summary.failed} named input(s) failed)\n`);
          return;
        }
        if (format === "safetensors") {
          const tensors = new Map<string, HostTensor>(features.map((f, k) => [f, stackTensors(rows[k], f)]));
          await writeTensorFile(out as string, tensors, {
            files: JSON.stringify(files),
            model: clf.name ?? "",
            preprocess: preprocessToJson(clf.preprocess),
          });
        }
        await lines?.commit();
      } catch (e) {
        await lines?.abort();
        throw e;
      } finally {
        await clf.release();
      }
    });
}
