/**
 * `convnext preprocess <image> --model <arch.tag> --output <file.safetensors>`: the model input an image
 * becomes, as timm + PIL compute it. Writes `tensor` (C, H, W float32, the model input) and `uint8`
 * (H, W, 3 after resize and crop); the config used goes into the metadata (`preprocess`).
 * The pretrained table gives the preprocessing of a name (nothing is downloaded); with --weights, the
 * checkpoint's own `preprocess` metadata wins.
 */
import type { Command } from "commander";
import { prepareImage, preprocessToJson } from "../api/image-preprocess.ts";
import { modelPreprocess } from "../api/model-source-node.ts";
import { DEFAULT_MAX_PIXELS, decodeImage } from "../preprocess/decode-node.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { positiveInt } from "./options.ts";
import { checkOutput } from "./output-guard.ts";
import { writeTensorFile } from "./tensor-files.ts";

/** Runs a preprocessing step, naming the image in its error. */
function namingImage<T>(image: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    throw new Error(`${image}: ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  program
    .command("preprocess <image>")
    .description("write the model input of an image (tensor, and uint8 after resize + crop) to safetensors")
    .option(
      "--model <arch.tag>",
      "pretrained entry whose preprocessing to use (default: the bundled model's)",
    )
    .option(
      "--weights <file>",
      "checkpoint whose preprocessing to use (its metadata, else --model's, else timm's)",
    )
    .requiredOption("--output <file.safetensors>", "output file")
    .option("--exif-rotate", "apply the EXIF orientation first (PIL and timm do not, except for TIFF)")
    .option(
      "--max-pixels <n>",
      `refuse images with more pixels than this (default ${DEFAULT_MAX_PIXELS}, PIL's limit)`,
      positiveInt("--max-pixels"),
    )
    .option("--use-ema", "with --weights: read the EMA weights of a training checkpoint")
    .action(
      async (
        image: string,
        opts: {
          model?: string;
          weights?: string;
          output: string;
          exifRotate?: boolean;
          maxPixels?: number;
          useEma?: boolean;
        },
      ) => {
        await checkOutput(
          { flag: "--output", path: opts.output, extensions: [".safetensors"], writes: "safetensors" },
          [
            { flag: "image", path: image },
            { flag: "--weights", path: opts.weights, folder: true },
          ],
        );
        const p = await modelPreprocess({ model: opts.model, weights: opts.weights, useEma: opts.useEma });
        const decoded = await decodeImage(image, { exifRotate: opts.exifRotate, maxPixels: opts.maxPixels });
        const { tensor, uint8 } = namingImage(image, () => prepareImage(decoded, p));
        const pixels: HostTensor = { dtype: "uint8", dims: [uint8.height, uint8.width, 3], data: uint8.data };
        await writeTensorFile(
          opts.output,
          new Map([
            ["tensor", tensor],
            ["uint8", pixels],
          ]),
          {
            preprocess: preprocessToJson(p),
            source: image,
          },
        );
      },
    );
}
