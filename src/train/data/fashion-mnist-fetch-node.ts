/**
 * Where `--data fashion-mnist` reads from: Debian's `dataset-fashion-mnist` package when it is installed, else
 * this package's cache (`<cache>/datasets/fashion-mnist`, see src/pretrained/download-node.ts), else the four
 * official files are downloaded into that cache — unless offline (`CONVNEXT_OFFLINE=1`). Each download is
 * checked against the MD5 the data set's authors publish (the only digest they list) before it is moved into
 * place, so the cache never holds a partial or altered file.
 * `CONVNEXT_FASHION_MNIST_URL` replaces the download address: for mirrors, and for tests against a local server.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, download, isOffline } from "../../pretrained/download-node.ts";
import { FASHION_MNIST_DIR } from "./fashion-mnist-node.ts";

/** The address the data set's README and torchvision download from. */
export const FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/** The four files and their published MD5 digests. */
export const FASHION_MNIST_FILES: Readonly<Record<string, string>> = {
  "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
  "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
  "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
  "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
};

type Env = Record<string, string | undefined>;

export interface FashionMnistFetchOptions {
  /** Progress of one file's download: bytes so far and its size when the server says it. */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
  /** Never use the network. Default: from CONVNEXT_OFFLINE / HF_HUB_OFFLINE. */
  offline?: boolean;
  env?: Env;
  /** The installed copy looked at first (default: Debian's package). */
  systemDir?: string;
  /** File names and their MD5s (default: the official ones). */
  files?: Readonly<Record<string, string>>;
}

/** The cache directory the files are downloaded into. */
export function fashionMnistCacheDir(env: Env = process.env): string {
  return join(cacheDir(env), "datasets", "fashion-mnist");
}

function holdsAll(dir: string, files: readonly string[]): boolean {
  return files.every((f) => existsSync(join(dir, f)) || existsSync(join(dir, f.replace(/\.gz$/, ""))));
}

/** A directory holding the four Fashion-MNIST files, downloading them into the cache when needed. */
export async function fashionMnistDir(opts: FashionMnistFetchOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const files = opts.files ?? FASHION_MNIST_FILES;
  const names = Object.keys(files);
  const systemDir = opts.systemDir ?? FASHION_MNIST_DIR;
  if (holdsAll(systemDir, names)) return systemDir;
  const cache = fashionMnistCacheDir(env);
  if (holdsAll(cache, names)) return cache;

  const base = (env.CONVNEXT_FASHION_MNIST_URL?.trim() || FASHION_MNIST_URL).replace(/\/*$/, "/");
  const howToGet = `install it with \`apt-get install dataset-fashion-mnist\` or pass --data <dir> holding the four idx files`;
  if (opts.offline ?? isOffline(env))
    throw new Error(
      `Fashion-MNIST is not in ${systemDir} nor in ${cache} and the network is off: ${howToGet}`,
    );
  for (const name of names) {
    if (existsSync(join(cache, name))) continue;
    try {
      await download(`${base}${name}`, join(cache, name), {
        md5: files[name],
        offline: false,
        onProgress: opts.onProgress && ((received, total) => opts.onProgress?.(name, received, total)),
      });
    } catch (e) {
      const reason = (e as Error).message.replace(/^download failed: /, "");
      throw new Error(
        `Fashion-MNIST is not in ${systemDir} and downloading it failed (${reason}): ${howToGet}`,
      );
    }
  }
  return cache;
}
