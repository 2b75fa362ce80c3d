/**
 * Where a loader's samples come from, as plain data a worker thread can receive: in-memory arrays (Fashion-MNIST;
 * a SharedArrayBuffer is shared with workers, not copied) or image files plus a decoder named by module URL and
 * export (functions cannot cross threads, modules can).
 */

import { pathToFileURL } from "node:url";
import type { SampleSource } from "./batch.ts";
import type { FashionMnist } from "./fashion-mnist-node.ts";
import { type ImageDecoder, type ImageFolder, loadFolderImage } from "./image-folder-node.ts";

export type SourceSpec =
  | {
      kind: "arrays";
      /** n × height × width × channels bytes. */
      images: Uint8Array;
      labels: Uint8Array | Int32Array;
      width: number;
      height: number;
      channels: number;
    }
  | {
      kind: "files";
      files: string[];
      labels: Int32Array;
      /** Module (file path or URL) exporting `(bytes: Uint8Array) => RgbImage | Promise<RgbImage>`. */
      decoderModule: string;
      /** Export name, default "decodeImage". */
      decoderExport?: string;
    };

export function fashionMnistSource(ds: FashionMnist): SourceSpec {
  return {
    kind: "arrays",
    images: ds.images,
    labels: ds.labels,
    width: ds.width,
    height: ds.height,
    channels: 1,
  };
}

export function imageFolderSource(
  folder: ImageFolder,
  decoderModule: string,
  decoderExport = "decodeImage",
): SourceSpec {
  return { kind: "files", files: folder.files, labels: folder.labels, decoderModule, decoderExport };
}

async function importDecoder(module: string, name: string): Promise<ImageDecoder> {
  const url = /^[a-z]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module) ? module : pathToFileURL(module).href;
  const mod = (await import(url)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== "function") throw new Error(`decoder module ${module} has no function export "${name}"`);
  return fn as ImageDecoder;
}

export async function openSource(spec: SourceSpec): Promise<SampleSource> {
  if (spec.kind === "arrays") {
    const { images, labels, width, height, channels } = spec;
    const size = width * height * channels;
    if (images.length !== labels.length * size) {
      throw new Error(
        `array source: ${labels.length} labels need ${labels.length * size} image bytes, got ${images.length}`,
      );
    }
    return {
      length: labels.length,
      label: (i) => labels[i],
      image: async (i) => ({ data: images.subarray(i * size, (i + 1) * size), width, height }),
    };
  }
  if (spec.files.length !== spec.labels.length)
    throw new Error(`file source: ${spec.files.length} files but ${spec.labels.length} labels`);
  const decode = await importDecoder(spec.decoderModule, spec.decoderExport ?? "decodeImage");
  return {
    length: spec.files.length,
    label: (i) => spec.labels[i],
    image: (i) => loadFolderImage(spec, i, decode),
  };
}
