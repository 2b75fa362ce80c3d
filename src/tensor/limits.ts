/**
 * The one policy for how much a file may make us read, allocate and compute. Every reader (checkpoints, tensor
 * inputs, images, HF configs) takes its bounds from here, so a hostile file meets the same limits whichever
 * command opens it. Bounds are tied to the file's own size where the format allows it (a header cannot be
 * larger than its file, a zip cannot hold more entries than its directory has room for), and otherwise set
 * far above what any real ConvNeXt file needs (the largest, convnext_xxlarge, is 3.4 GB with ~600 tensors).
 * Kept here, in the bottom layer, so checkpoint/ and preprocess/ can import it. The README's limits table
 * states the same numbers.
 */

export interface Limits {
  /** Bytes read from a checkpoint or tensor file (regular files only). */
  maxCheckpointBytes: number;
  /** Bytes read from an image file. */
  maxImageBytes: number;
  /** Bytes read from a JSON config (HF config.json, a preprocessing config). */
  maxConfigBytes: number;
  /** Bytes of a safetensors JSON header (also bounded by the file's size). */
  maxSafetensorsHeaderBytes: number;
  /** Entries in a checkpoint's zip archive (also bounded by the size of its central directory). */
  maxZipEntries: number;
  /** Pickle opcodes executed; every value a pickle builds costs at least one. */
  maxPickleOps: number;
  /** Pickle memo entries. */
  maxPickleMemo: number;
  /** Containers nested inside each other, in a pickle or a JSON config. */
  maxNestingDepth: number;
  /** Bytes of one pickled integer (LONG1/LONG4); torch writes at most 8. */
  maxPickleIntBytes: number;
  /**
   * Bytes a checkpoint's tensor views may copy out of their storages beyond the file's own size (a strided view
   * is copied; a contiguous view shares its storage).
   */
  maxViewCopyBytesOverFile: number;
  /** Pixels of a decoded image, and of a resize's output (PIL's Image.MAX_IMAGE_PIXELS). */
  maxPixels: number;
  /** Longer side over shorter side of an image. */
  maxAspectRatio: number;
  /** Stages, blocks per stage, channels and kernel side a model config may name. */
  maxStages: number;
  maxDepth: number;
  maxWidth: number;
  maxKernel: number;
  /** Classes of a classifier head. */
  maxClasses: number;
  /** Bytes of one data set file (an IDX file), inflated when gzipped: 2.7 million 28×28 images. */
  maxDataFileBytes: number;
  /** Parameters of a model: float32 weights within maxCheckpointBytes. */
  maxParams: number;
  /**
   * Side of the model input a file's preprocessing may ask for (pretrained ConvNeXts use 224-512; detection
   * backbones up to ~1,333). A 1 KB image resized to 9000² as a file asked took 15-24 GB in the model.
   */
  maxInputSide: number;
}

const MiB = 2 ** 20;

export const LIMITS: Readonly<Limits> = Object.freeze({
  maxCheckpointBytes: 8 * 2 ** 30,
  maxImageBytes: 256 * MiB,
  maxConfigBytes: 16 * MiB,
  maxSafetensorsHeaderBytes: 16 * MiB,
  maxZipEntries: 1_000_000,
  maxPickleOps: 5_000_000,
  maxPickleMemo: 1_000_000,
  maxNestingDepth: 100,
  maxPickleIntBytes: 256,
  maxViewCopyBytesOverFile: 256 * MiB,
  maxPixels: 89_478_485,
  maxAspectRatio: 200,
  maxStages: 16,
  maxDepth: 1024,
  maxWidth: 65_536,
  maxKernel: 63,
  maxClasses: 1_000_000,
  maxDataFileBytes: 2 * 2 ** 30,
  maxParams: 2 * 2 ** 30,
  maxInputSide: 2048,
});

/**
 * A limit given by a caller (an option, a flag): a positive number, or Infinity to lift it. NaN, zero, negative
 * and non-numbers are refused, so no spelling of "no value" quietly turns a check off.
 */
export function checkLimit(name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** `LIMITS` with some bounds replaced, each checked by `checkLimit`. */
export function withLimits(overrides: Partial<Limits> = {}): Readonly<Limits> {
  const out: Limits = { ...LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(LIMITS, key)) throw new Error(`unknown limit ${key}`);
    out[key as keyof Limits] = checkLimit(key, value);
  }
  return out;
}

/** How deeply a parsed JSON value nests, walked without recursion (so depth itself cannot overflow the stack). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const todo: [unknown, number][] = [[value, 1]];
  while (todo.length > 0) {
    const [v, d] = todo.pop()!;
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, d);
    for (const child of Array.isArray(v) ? v : Object.values(v)) todo.push([child, d + 1]);
  }
  return deepest;
}

/** Bytes as a short human number for messages (1.5 GB, 16 MiB style kept decimal for readability). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} bytes`;
}
