/**
 * Pretrained ConvNeXt weights as data: one table, one row per `arch.tag` (timm's naming), carrying where the
 * file lives, its licence, its label set and the preprocessing it was evaluated with (timm `default_cfgs`,
 * torchvision weight enums). Nothing here downloads; see download-node.ts.
 *
 * Sources: timm `timm/models/convnext.py` default_cfgs (timm 1.0.x), torchvision `models/convnext.py`.
 * NOTE: the first row of an architecture is its default tag, as in timm (`convnext_tiny` →
 * `convnext_tiny.in12k_ft_in1k` with crop_pct 0.95, NOT the paper's fb_in1k 256/224 pipeline).
 * NOTE: sha256 is filled in only where a digest is published (the Hub's Git LFS pointer of the file);
 * dl.fbaipublicfiles.com publishes none. torch.hub-style file names carry a digest prefix (`-983f1562.pth`),
 * read off the URL by torch.hub's rule (hashPrefixOf). Rows without either are still checked when downloaded
 * from the Hub, which names each LFS file's sha256 in its `X-Linked-Etag` header (download-node.ts).
 * Not listed: timm's `_ols` / `_hnf` / `_rms` / `large_mlp` / `xxlarge` / CLIP models (stems or heads this
 * project does not build), the in12k-only heads (11821 classes, no label list shipped) and the headless
 * `fcmae` pre-training checkpoints.
 */
import type { PreprocessConfig } from "../preprocess/transform.ts";

export type WeightsLicense = "MIT" | "Apache-2.0" | "CC-BY-NC-4.0" | "BSD-3-Clause";
/** in1k: 1000 ImageNet-1k classes; in22k: the 21841 classes of ImageNet-22k (fall11). */
export type LabelSet = "in1k" | "in22k";
/** How the tensors in a file are named: the input of the checkpoint key remapping. */
export type KeyConvention = "timm" | "official" | "torchvision";

export interface WeightsFile {
  url: string;
  format: "safetensors" | "pth";
  keys: KeyConvention;
  /** Full hex sha256 where published. */
  sha256?: string;
  /** Leading hex digits of the sha256, from a torch.hub-style file name (`name-<prefix>.pth`). */
  sha256Prefix?: string;
}

export interface PretrainedEntry {
  /** `arch.tag`, e.g. `convnext_tiny.fb_in1k`. */
  name: string;
  arch: string;
  tag: string;
  version: 1 | 2;
  /** Hugging Face Hub repository (`timm/<name>`), when the weights are mirrored there. */
  hfHubId?: string;
  /** Where the weights can be fetched, preferred first (safetensors before pickles). */
  files: readonly WeightsFile[];
  license: WeightsLicense;
  labels: LabelSet;
  numClasses: number;
  preprocess: PreprocessConfig;
  /** timm's `test_input_size` / `test_crop_pct`: a larger evaluation size the weights also do well at. */
  testInputSize?: number;
  testCropPct?: number;
}

/**
 * The sha256 prefix a torch.hub-style file name carries (`convnext_tiny-983f1562.pth`): torch.hub's
 * `HASH_REGEX = -([a-f0-9]*)\.` on the file name, kept when it has the eight or more digits torch documents.
 */
export function hashPrefixOf(url: string): string | undefined {
  const prefix = /-([a-f0-9]*)\./.exec(url.slice(url.lastIndexOf("/") + 1))?.[1];
  return prefix !== undefined && prefix.length >= 8 ? prefix : undefined;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
const FB = "https://dl.fbaipublicfiles.com/convnext/";
const RSB = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-rsb-weights/";
const TV = "https://download.pytorch.org/models/";

/** One row of the table, in the shorthand below; `entry()` expands it. */
interface Row {
  name: string;
  license: WeightsLicense;
  numClasses?: number;
  /** [input size, crop_pct, crop_mode]; default [224, 0.875, 'center'] (timm `_cfg`). */
  eval?: readonly [number, number, "center" | "squash"];
  test?: readonly [number, number];
  /** Original release file: URL and the key convention inside it. */
  origin?: readonly [string, KeyConvention];
  /** Published sha256 of the Hub's model.safetensors. */
  hubSha256?: string;
}

// Shorthands for the common rows.
const SQUASH_384 = [384, 1.0, "squash"] as const;
const T288 = [288, 1.0] as const;
const T288_95 = [288, 0.95] as const;
const fbV1 = (name: string, file: string, rest: Partial<Row> = {}): Row => ({
  name,
  license: "MIT",
  origin: [FB + file, "official"],
  ...rest,
});
const fbV2 = (name: string, file: string, rest: Partial<Row> = {}): Row => ({
  name,
  license: "CC-BY-NC-4.0",
  origin: [`${FB}convnextv2/${file}`, "official"],
  ...rest,
});

// Order matters: the first row of each architecture is its default tag (as in timm's default_cfgs).
const ROWS: readonly Row[] = [
  // timm's own training runs (ImageNet-12k pretraining, then 1k fine-tuning).
  {
    name: "convnext_tiny.in12k_ft_in1k",
    license: "Apache-2.0",
    eval: [224, 0.95, "center"],
    test: T288,
    hubSha256: "a1aefa409b513cf209b085424eb3efffe4e4a9f511491bc2c12ea35209e6bb95",
  },
  { name: "convnext_small.in12k_ft_in1k", license: "Apache-2.0", eval: [224, 0.95, "center"], test: T288 },
  {
    name: "convnext_atto.d2_in1k",
    license: "Apache-2.0",
    test: T288_95,
    origin: [`${RSB}convnext_atto_d2-01bb0f51.pth`, "timm"],
  },
  {
    name: "convnext_femto.d1_in1k",
    license: "Apache-2.0",
    test: T288_95,
    origin: [`${RSB}convnext_femto_d1-d71d5b4c.pth`, "timm"],
  },
  {
    name: "convnext_pico.d1_in1k",
    license: "Apache-2.0",
    test: T288_95,
    origin: [`${RSB}convnext_pico_d1-10ad7f0d.pth`, "timm"],
  },
  { name: "convnext_nano.in12k_ft_in1k", license: "Apache-2.0", eval: [224, 0.95, "center"], test: T288 },
  {
    name: "convnext_nano.d1h_in1k",
    license: "Apache-2.0",
    eval: [224, 0.95, "center"],
    test: T288,
    origin: [`${RSB}convnext_nano_d1h-7eb4bdea.pth`, "timm"],
  },
  // NOTE: timm gives this 384 model crop_pct 1.0 in 'center' mode, not 'squash'.
  { name: "convnext_nano.r384_in12k_ft_in1k", license: "Apache-2.0", eval: [384, 1.0, "center"] },
  {
    name: "convnext_tiny.in12k_ft_in1k_384",
    license: "Apache-2.0",
    eval: SQUASH_384,
    hubSha256: "2a372497fe2d9d5994e9d69e979ac48625e40792f9f8965f498a0f68821f2adb",
  },
  { name: "convnext_small.in12k_ft_in1k_384", license: "Apache-2.0", eval: SQUASH_384 },

  // The paper's weights (facebookresearch/ConvNeXt, MIT).
  fbV1("convnext_tiny.fb_in22k_ft_in1k", "convnext_tiny_22k_1k_224.pth", { test: T288 }),
  fbV1("convnext_small.fb_in22k_ft_in1k", "convnext_small_22k_1k_224.pth", {
    test: T288,
    hubSha256: "2457488bec2ffcb2061b9e3fdd63360114549615e3e35ef6dc5c5efe549cbbc9",
  }),
  fbV1("convnext_base.fb_in22k_ft_in1k", "convnext_base_22k_1k_224.pth", { test: T288 }),
  fbV1("convnext_large.fb_in22k_ft_in1k", "convnext_large_22k_1k_224.pth", { test: T288 }),
  fbV1("convnext_xlarge.fb_in22k_ft_in1k", "convnext_xlarge_22k_1k_224_ema.pth", { test: T288 }),
  fbV1("convnext_tiny.fb_in1k", "convnext_tiny_1k_224_ema.pth", { test: T288 }),
  fbV1("convnext_small.fb_in1k", "convnext_small_1k_224_ema.pth", {
    test: T288,
    hubSha256: "5ec5ed9e97fb835093aaf3e6c3fce406b160b367117b6a2b8c7b703386218d1b",
  }),
  fbV1("convnext_base.fb_in1k", "convnext_base_1k_224_ema.pth", { test: T288 }),
  fbV1("convnext_large.fb_in1k", "convnext_large_1k_224_ema.pth", { test: T288 }),
  fbV1("convnext_tiny.fb_in22k_ft_in1k_384", "convnext_tiny_22k_1k_384.pth", { eval: SQUASH_384 }),
  fbV1("convnext_small.fb_in22k_ft_in1k_384", "convnext_small_22k_1k_384.pth", { eval: SQUASH_384 }),
  fbV1("convnext_base.fb_in22k_ft_in1k_384", "convnext_base_22k_1k_384.pth", { eval: SQUASH_384 }),
  fbV1("convnext_large.fb_in22k_ft_in1k_384", "convnext_large_22k_1k_384.pth", { eval: SQUASH_384 }),
  fbV1("convnext_xlarge.fb_in22k_ft_in1k_384", "convnext_xlarge_22k_1k_384_ema.pth", { eval: SQUASH_384 }),
  fbV1("convnext_tiny.fb_in22k", "convnext_tiny_22k_224.pth", {
    numClasses: 21841,
    hubSha256: "2b40f8d53b566a8c08c0c75f93ff5ac6fa33bd213afb27ee40766af7ffe5943b",
  }),
  fbV1("convnext_small.fb_in22k", "convnext_small_22k_224.pth", { numClasses: 21841 }),
  fbV1("convnext_base.fb_in22k", "convnext_base_22k_224.pth", { numClasses: 21841 }),
  fbV1("convnext_large.fb_in22k", "convnext_large_22k_224.pth", { numClasses: 21841 }),
  fbV1("convnext_xlarge.fb_in22k", "convnext_xlarge_22k_224.pth", { numClasses: 21841 }),

  // ConvNeXt V2 (facebookresearch/ConvNeXt-V2, CC-BY-NC 4.0): FCMAE pretraining, then supervised fine-tuning.
  fbV2("convnextv2_nano.fcmae_ft_in22k_in1k", "im22k/convnextv2_nano_22k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_nano.fcmae_ft_in22k_in1k_384", "im22k/convnextv2_nano_22k_384_ema.pt", {
    eval: SQUASH_384,
  }),
  fbV2("convnextv2_tiny.fcmae_ft_in22k_in1k", "im22k/convnextv2_tiny_22k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_tiny.fcmae_ft_in22k_in1k_384", "im22k/convnextv2_tiny_22k_384_ema.pt", {
    eval: SQUASH_384,
  }),
  fbV2("convnextv2_base.fcmae_ft_in22k_in1k", "im22k/convnextv2_base_22k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_base.fcmae_ft_in22k_in1k_384", "im22k/convnextv2_base_22k_384_ema.pt", {
    eval: SQUASH_384,
  }),
  fbV2("convnextv2_large.fcmae_ft_in22k_in1k", "im22k/convnextv2_large_22k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_large.fcmae_ft_in22k_in1k_384", "im22k/convnextv2_large_22k_384_ema.pt", {
    eval: SQUASH_384,
  }),
  fbV2("convnextv2_huge.fcmae_ft_in22k_in1k_384", "im22k/convnextv2_huge_22k_384_ema.pt", {
    eval: SQUASH_384,
  }),
  fbV2("convnextv2_huge.fcmae_ft_in22k_in1k_512", "im22k/convnextv2_huge_22k_512_ema.pt", {
    eval: [512, 1.0, "squash"],
  }),
  fbV2("convnextv2_atto.fcmae_ft_in1k", "im1k/convnextv2_atto_1k_224_ema.pt", { test: T288_95 }),
  fbV2("convnextv2_femto.fcmae_ft_in1k", "im1k/convnextv2_femto_1k_224_ema.pt", { test: T288_95 }),
  fbV2("convnextv2_pico.fcmae_ft_in1k", "im1k/convnextv2_pico_1k_224_ema.pt", {
    test: T288_95,
    hubSha256: "e5f062aebf03a5f373d41ff14e0d08e8866fd9ed150f57031228176d0c3a20dc",
  }),
  fbV2("convnextv2_nano.fcmae_ft_in1k", "im1k/convnextv2_nano_1k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_tiny.fcmae_ft_in1k", "im1k/convnextv2_tiny_1k_224_ema.pt", {
    test: T288,
    hubSha256: "fdfb4edfa5abb3b4ea29ab17e6fae5c117dc6cc32ecfb1d0726a156f40a4c1a5",
  }),
  fbV2("convnextv2_base.fcmae_ft_in1k", "im1k/convnextv2_base_1k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_large.fcmae_ft_in1k", "im1k/convnextv2_large_1k_224_ema.pt", { test: T288 }),
  fbV2("convnextv2_huge.fcmae_ft_in1k", "im1k/convnextv2_huge_1k_224_ema.pt", { test: T288 }),
];

function entry(row: Row): PretrainedEntry {
  const [arch, tag] = row.name.split(".");
  const [size, cropPct, cropMode] = row.eval ?? [224, 0.875, "center"];
  const numClasses = row.numClasses ?? 1000;
  const hfHubId = `timm/${row.name}`;
  const files: WeightsFile[] = [
    {
      url: `https://huggingface.co/${hfHubId}/resolve/main/model.safetensors`,
      format: "safetensors",
      keys: "timm",
      ...(row.hubSha256 ? { sha256: row.hubSha256 } : {}),
    },
  ];
  if (row.origin) {
    const [url, keys] = row.origin;
    const prefix = hashPrefixOf(url);
    files.push({ url, format: "pth", keys, ...(prefix ? { sha256Prefix: prefix } : {}) });
  }
  return {
    name: row.name,
    arch,
    tag,
    version: arch.startsWith("convnextv2") ? 2 : 1,
    hfHubId,
    files,
    license: row.license,
    labels: numClasses === 21841 ? "in22k" : "in1k",
    numClasses,
    preprocess: {
      inputSize: size,
      interpolation: "bicubic",
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      cropPct,
      cropMode,
    },
    ...(row.test ? { testInputSize: row.test[0], testCropPct: row.test[1] } : {}),
  };
}

/** torchvision's own retrained V1 weights (BSD-3): bilinear resize to 236/230/232, crop 224. */
function torchvision(arch: string, file: string, resizeSize: number): PretrainedEntry {
  const sha256Prefix = hashPrefixOf(file);
  return {
    name: `${arch}.tv_in1k`,
    arch,
    tag: "tv_in1k",
    version: 1,
    files: [
      { url: TV + file, format: "pth", keys: "torchvision", ...(sha256Prefix ? { sha256Prefix } : {}) },
    ],
    license: "BSD-3-Clause",
    labels: "in1k",
    numClasses: 1000,
    preprocess: {
      inputSize: 224,
      interpolation: "bilinear",
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      cropPct: 224 / resizeSize,
      cropMode: "center",
      resizeSize,
    },
  };
}

export const PRETRAINED: readonly PretrainedEntry[] = [
  ...ROWS.map(entry),
  torchvision("convnext_tiny", "convnext_tiny-983f1562.pth", 236),
  torchvision("convnext_small", "convnext_small-0c510722.pth", 230),
  torchvision("convnext_base", "convnext_base-6075fbad.pth", 232),
  torchvision("convnext_large", "convnext_large-ea097f82.pth", 232),
];

const BY_NAME = new Map(PRETRAINED.map((e) => [e.name, e]));

/** Architecture → default tag: the first row of the architecture, as timm picks it. */
export const DEFAULT_TAGS: ReadonlyMap<string, string> = PRETRAINED.reduce(
  (m, e) => (m.has(e.arch) ? m : m.set(e.arch, e.tag)),
  new Map<string, string>(),
);

export function listPretrained(): string[] {
  return PRETRAINED.map((e) => e.name);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Up to `n` known names nearest to `name` (same architecture first, then by edit distance). */
export function closeNames(name: string, n = 5): string[] {
  const arch = name.split(".")[0];
  return [...PRETRAINED]
    .map((e) => ({ name: e.name, d: (e.arch === arch ? 0 : 1000) + editDistance(name, e.name) }))
    .sort((x, y) => x.d - y.d)
    .slice(0, n)
    .map((x) => x.name);
}

/**
 * Looks up weights by `arch.tag`, plain `arch` (timm's default tag) or Hub id (`timm/arch.tag`).
 * Throws a one-line error listing the closest known names.
 */
export function resolvePretrained(name: string): PretrainedEntry {
  const key = name.trim().replace(/^timm\//, "");
  const exact = BY_NAME.get(key);
  if (exact) return exact;
  const tag = key.includes(".") ? undefined : DEFAULT_TAGS.get(key);
  if (tag) return BY_NAME.get(`${key}.${tag}`)!;
  throw new Error(
    `unknown pretrained weights '${name}'; closest: ${closeNames(key).join(", ")} (${PRETRAINED.length} known; see \`convnext list\`)`,
  );
}
