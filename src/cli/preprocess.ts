/**
 * `convnext preprocess <images…> --output <file.safetensors>`: the model input images become, as timm + PIL
 * compute it, in the form `convnext run --input` reads: `x` (N, C, H, W float32, one row per image in the order
 * given) and `uint8` (N, H, W, 3: each image after resize and crop). The metadata holds the config used
 * (`preprocess`) and the image paths (`sources`, a JSON list).
 * The pretrained table gives the preprocessing of a name (nothing is downloaded); with --weights, the
 * checkpoint's own `preprocess` metadata wins.
 */
import type { Command } from "commander";
import { prepareImage, preprocessToJson } from "../api/image-preprocess.ts";
import { modelPreprocess } from "../api/model-source-node.ts";
import { DECODER_MAX_PIXELS, DEFAULT_MAX_PIXELS, decodeImage } from "../preprocess/decode-node.ts";
import { batchTensors } from "../preprocess/transform.ts";
import { type Float32Tensor, type HostTensor, sameDims, shapeString } from "../tensor/host-tensor.ts";
import { withFile } from "./errors.ts";
import { boundedPositiveInt } from "./options.ts";
import { checkOutput } from "./output-guard.ts";
import { printJson } from "./output.ts";
import { writeTensorFile } from "./tensor-files.ts";

interface PreprocessOptions {
  model?: string;
  weights?: string;
  output: string;
  exifRotate?: boolean;
  maxPixels?: number;
  useEma?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("preprocess <images...>")
    .description(
      "write the model input of images to safetensors: x (N,C,H,W), the input of `run`, and uint8 (N,H,W,3)",
    )
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
      boundedPositiveInt("--max-pixels", DECODER_MAX_PIXELS),
    )
    .option("--use-ema", "with --weights: read the EMA weights of a training checkpoint")
    .option("--json", "print a summary line: {output, shape, images}")
    .action(async (images: string[], opts: PreprocessOptions) => {
      await checkOutput(
        { flag: "--output", path: opts.output, extensions: [".safetensors"], writes: "safetensors" },
        [
          ...images.map((path) => ({ flag: "image", path })),
          { flag: "--weights", path: opts.weights, folder: true },
        ],
      );
      const p = await modelPreprocess({ model: opts.model, weights: opts.weights, useEma: opts.useEma });
      const tensors: Float32Tensor[] = [];
      const pixels: Uint8Array[] = [];
      let side: number[] = [];
      for (const image of images) {
        const { tensor, uint8 } = await withFile(image, async () =>
          prepareImage(
            await decodeImage(image, { exifRotate: opts.exifRotate, maxPixels: opts.maxPixels }),
            p,
          ),
        );
        side = [uint8.height, uint8.width];
        if (tensors.length > 0 && !sameDims(tensor.dims, tensors[0].dims))
          throw new Error(
            `${image}: preprocessed to ${shapeString(tensor.dims)}, ${images[0]} to ${shapeString(tensors[0].dims)}: one batch needs one size`,
          );
        tensors.push(tensor);
        pixels.push(uint8.data);
      }
      const x = batchTensors(tensors);
      const uint8: HostTensor = {
        dtype: "uint8",
        dims: [images.length, ...side, 3],
        data: Buffer.concat(pixels),
      };
      await writeTensorFile(
        opts.output,
        new Map([
          ["x", x],
          ["uint8", uint8],
        ]),
        { preprocess: preprocessToJson(p), sources: JSON.stringify(images) },
      );
      if (opts.json) printJson({ output: opts.output, shape: x.dims, images });
    });
}
