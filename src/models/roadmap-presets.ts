/**
 * The paper's roadmap as data: "A ConvNet for the 2020s" (Liu et al., CVPR 2022), Section 2 and appendix
 * Tables 10 (ResNet-50 → ConvNeXt-T) and 11 (ResNet-200 → ConvNeXt-B). Each step is the previous step's
 * configuration plus the one decision the paper changed; the architectures are spelled out in
 * docs/roadmap.md, whose integer counts every preset reproduces (test/models/roadmap-count.test.ts).
 *
 * NOTE: the paper's printed GFLOPs are plain conv + linear multiply-adds. Two Table-10 values cannot be
 * reproduced by any architecture the text describes: BN→LN (printed 4.46, counted 4.1456; the paper's own
 * Figure 2 labels that bar 4.2) and ConvNeXt-T (printed 4.49, counted 4.4555 — the architecture matches timm
 * weight for weight). They are kept here as printed.
 */

/** Every decision the paper takes on the way from a ResNet to a ConvNeXt. */
export interface RoadmapConfig {
  /** Blocks per stage. */
  depths: number[];
  /**
   * Width per stage: the bottleneck width for "bottleneck" blocks (their output is mlpRatio × it), the
   * residual-stream width for "inverted" and "dw_first" blocks.
   */
  widths: number[];
  /** "resnet": conv 7×7/2 (→ norm → act) → max pool 3×3/2; "patchify": conv p×p/p. */
  stem: "resnet" | "patchify";
  stemWidth: number;
  /** Patchify kernel = stride. */
  patchSize: number;
  /** A norm after the stem conv (ResNet's BN, ConvNeXt's LN). */
  stemNorm: boolean;
  /** An activation after the stem norm (ResNet's ReLU). */
  stemAct: boolean;
  /**
   * "bottleneck": 1×1 reduce → k×k → 1×1 expand (Fig. 3a); "inverted": 1×1 expand → k×k → 1×1 reduce
   * (Fig. 3b); "dw_first": k×k → 1×1 expand → 1×1 reduce (Fig. 3c, the depthwise conv moved up).
   */
  block: "bottleneck" | "inverted" | "dw_first";
  /** Groups of the k×k conv: 1 = dense (ResNet), n = n groups (ResNeXt), "depthwise" = one per channel. */
  groups: number | "depthwise";
  kernelSize: number;
  /** Bottleneck expansion (output = 4 × width) and inverted-bottleneck hidden ratio. */
  mlpRatio: number;
  /** Hidden width of inverted / dw_first blocks: mlpRatio × the stage width ("out"), or × the block input. */
  hiddenFrom: "out" | "in";
  /** Where a downsampling block puts its stride: on the k×k conv (ResNet v1.5), or on the first conv (v1). */
  strideOn: "spatial" | "first";
  act: "relu" | "gelu";
  /** One activation per block (after the first 1×1 conv) and none after the residual addition. */
  fewerActs: boolean;
  norm: "bn" | "ln";
  /** One norm per block, after the first conv of the residual branch. */
  fewerNorms: boolean;
  /** A norm after the projection shortcut's 1×1 conv. */
  shortcutNorm: boolean;
  /**
   * "block": the first block of stages 2–4 downsamples (strided conv + projection shortcut);
   * "separate": a norm → conv 2×2/2 layer between stages, and blocks keep their resolution.
   */
  downsample: "block" | "separate";
  /** A norm between global pooling and the classifier. */
  headNorm: boolean;
  /** Layer scale init (ConvNeXt's 1e-6), or null for none. */
  layerScale: number | null;
  numClasses: number;
  inChans: number;
  /** torch defaults: BatchNorm eps 1e-5, momentum 0.1; ConvNeXt's LayerNorm eps 1e-6. */
  bnEps: number;
  bnMomentum: number;
  lnEps: number;
}

export type Regime = "r50" | "r200";
export const REGIMES: readonly Regime[] = ["r50", "r200"];

export interface RoadmapStep {
  /** The step's key, e.g. "patchify". */
  step: string;
  /** Row label as in docs/roadmap.md: "0".."12", side branches "7a".."7c". */
  label: string;
  /** What this step changes, in one line. */
  change: string;
  /** The step it changes (null for the starting ResNet). */
  from: string | null;
  /** A kernel-size side branch off the main path (kernel 5/9/11). */
  sideBranch: boolean;
  config: RoadmapConfig;
  /** GFLOPs as printed in the paper (Table 10 / Table 11). */
  paperGflops: number;
  /** ImageNet-1K top-1 as printed (Table 10, modern recipe); null where the project's references lack it. */
  paperTop1: number | null;
}

const RESNET: Omit<RoadmapConfig, "depths" | "widths" | "stemWidth"> = {
  stem: "resnet",
  patchSize: 4,
  stemNorm: true,
  stemAct: true,
  block: "bottleneck",
  groups: 1,
  kernelSize: 3,
  mlpRatio: 4,
  hiddenFrom: "out",
  strideOn: "spatial",
  act: "relu",
  fewerActs: false,
  norm: "bn",
  fewerNorms: false,
  shortcutNorm: true,
  downsample: "block",
  headNorm: false,
  layerScale: null,
  numClasses: 1000,
  inChans: 3,
  bnEps: 1e-5,
  bnMomentum: 0.1,
  lnEps: 1e-6,
};

interface StepDef {
  step: string;
  label: string;
  from: string | null;
  change: string;
  set: Partial<RoadmapConfig>;
  gflops: number;
  top1: number | null;
  side?: boolean;
}

const widthsFrom = (w: number) => [w, 2 * w, 4 * w, 8 * w];

/** The steps after the stem/stage/width changes, shared by both regimes (Table 10 rows 5–12). */
function modernSteps(
  from: string,
  gflops: number[],
  top1: (number | null)[],
  last: { step: string; change: string },
): StepDef[] {
  const rows: Omit<StepDef, "gflops" | "top1">[] = [
    {
      step: "inverted",
      label: "5",
      from,
      change: "inverted bottleneck: 1×1 expand ×4 → dw → 1×1 (Fig. 3b)",
      set: { block: "inverted" },
    },
    {
      step: "move_up_dw",
      label: "6",
      from: "inverted",
      change: "depthwise conv moved up, first in the block (Fig. 3c)",
      set: { block: "dw_first" },
    },
    {
      step: "kernel5",
      label: "7a",
      from: "move_up_dw",
      change: "depthwise kernel 3×3 → 5×5 (side branch)",
      set: { kernelSize: 5 },
      side: true,
    },
    {
      step: "kernel7",
      label: "7",
      from: "move_up_dw",
      change: "depthwise kernel 3×3 → 7×7 (adopted)",
      set: { kernelSize: 7 },
    },
    {
      step: "kernel9",
      label: "7b",
      from: "move_up_dw",
      change: "depthwise kernel 3×3 → 9×9 (side branch)",
      set: { kernelSize: 9 },
      side: true,
    },
    {
      step: "kernel11",
      label: "7c",
      from: "move_up_dw",
      change: "depthwise kernel 3×3 → 11×11 (side branch)",
      set: { kernelSize: 11 },
      side: true,
    },
    { step: "gelu", label: "8", from: "kernel7", change: "ReLU → GELU everywhere", set: { act: "gelu" } },
    {
      step: "fewer_acts",
      label: "9",
      from: "gelu",
      change: "one GELU per block, between the 1×1 convs; none after the add",
      set: { fewerActs: true },
    },
    {
      step: "fewer_norms",
      label: "10",
      from: "fewer_acts",
      change: "one BatchNorm per block, after the depthwise conv",
      set: { fewerNorms: true },
    },
    {
      step: "bn_to_ln",
      label: "11",
      from: "fewer_norms",
      change: "BatchNorm → LayerNorm (over channels)",
      set: { norm: "ln" },
    },
    {
      step: last.step,
      label: "12",
      from: "bn_to_ln",
      change: last.change,
      set: { downsample: "separate", stemNorm: true, stemAct: false, headNorm: true, layerScale: 1e-6 },
    },
  ];
  return rows.map((r, i) => ({ ...r, gflops: gflops[i], top1: top1[i] }));
}

const R50: StepDef[] = [
  {
    step: "resnet50",
    label: "0",
    from: null,
    change: "torchvision ResNet-50 v1.5 (stride on the 3×3), modern training recipe",
    set: { ...RESNET, depths: [3, 4, 6, 3], widths: widthsFrom(64), stemWidth: 64 },
    gflops: 4.09,
    // 76.13 with the original 90-epoch recipe; every later step uses the modern one.
    top1: 78.82,
  },
  {
    step: "stage_ratio",
    label: "1",
    from: "resnet50",
    change: "stage depths (3,4,6,3) → (3,3,9,3)",
    set: { depths: [3, 3, 9, 3] },
    gflops: 4.53,
    top1: 79.36,
  },
  {
    step: "patchify",
    label: "2",
    from: "stage_ratio",
    change: "stem → one 4×4 stride-4 conv (no norm, no pooling)",
    set: { stem: "patchify", stemNorm: false, stemAct: false },
    gflops: 4.42,
    top1: 79.51,
  },
  {
    step: "depthwise",
    label: "3",
    from: "patchify",
    change: "3×3 conv → depthwise (ResNeXt-ify)",
    set: { groups: "depthwise" },
    gflops: 2.35,
    top1: 78.28,
  },
  {
    step: "width96",
    label: "4",
    from: "depthwise",
    change: "base width 64 → 96 (stem too)",
    set: { widths: widthsFrom(96), stemWidth: 96 },
    gflops: 5.27,
    top1: 80.5,
  },
  ...modernSteps(
    "width96",
    [4.64, 4.07, 4.1, 4.15, 4.21, 4.29, 4.15, 4.15, 4.15, 4.46, 4.49],
    [80.64, 79.92, 80.35, 80.57, 80.57, 80.47, 80.62, 81.27, 81.41, 81.47, 81.97],
    { step: "convnext_t", change: "separate downsampling layers, stem/head LN, layer scale (= ConvNeXt-T)" },
  ),
];

const R200: StepDef[] = [
  {
    step: "resnet200",
    label: "0",
    from: null,
    change: "ResNet-200 v1.5 (depths 3,24,36,3), modern training recipe",
    set: { ...RESNET, depths: [3, 24, 36, 3], widths: widthsFrom(64), stemWidth: 64 },
    gflops: 15.01,
    top1: null,
  },
  {
    step: "stage_ratio_w84",
    label: "1",
    from: "resnet200",
    change: "stage depths → (3,3,27,3) and base width 64 → 84",
    set: { depths: [3, 3, 27, 3], widths: widthsFrom(84), stemWidth: 84 },
    gflops: 14.52,
    top1: null,
  },
  {
    step: "patchify",
    label: "2",
    from: "stage_ratio_w84",
    change: "stem → one 4×4 stride-4 conv (no norm, no pooling)",
    set: { stem: "patchify", stemNorm: false, stemAct: false },
    gflops: 14.38,
    top1: null,
  },
  {
    step: "depthwise",
    label: "3",
    from: "patchify",
    change: "3×3 conv → depthwise (ResNeXt-ify)",
    set: { groups: "depthwise" },
    gflops: 7.23,
    top1: null,
  },
  {
    step: "width128",
    label: "4",
    from: "depthwise",
    change: "base width 84 → 128 (stem too)",
    set: { widths: widthsFrom(128), stemWidth: 128 },
    gflops: 16.76,
    top1: null,
  },
  ...modernSteps(
    "width128",
    [15.68, 14.63, 14.7, 14.81, 14.95, 15.13, 14.81, 14.81, 14.81, 14.81, 15.35],
    new Array(11).fill(null),
    { step: "convnext_b", change: "separate downsampling layers, stem/head LN, layer scale (= ConvNeXt-B)" },
  ),
];

function resolve(defs: StepDef[]): RoadmapStep[] {
  const configs = new Map<string, RoadmapConfig>();
  return defs.map((d) => {
    const base = d.from === null ? undefined : configs.get(d.from);
    if (d.from !== null && !base)
      throw new Error(`roadmap step '${d.step}' builds on unknown step '${d.from}'`);
    const config = { ...base, ...d.set } as RoadmapConfig;
    configs.set(d.step, config);
    return {
      step: d.step,
      label: d.label,
      change: d.change,
      from: d.from,
      sideBranch: d.side ?? false,
      config,
      paperGflops: d.gflops,
      paperTop1: d.top1,
    };
  });
}

const TABLES: Record<Regime, RoadmapStep[]> = { r50: resolve(R50), r200: resolve(R200) };

/** Every step of a regime in the paper's order (side branches next to the step they branch from). */
export function roadmapSteps(regime: Regime = "r50"): RoadmapStep[] {
  const table = TABLES[regime];
  if (!table) throw new Error(`unknown roadmap regime '${regime}' (expected ${REGIMES.join(" or ")})`);
  return table.map((s) => ({ ...s, config: structuredClone(s.config) }));
}

/** One step's configuration, e.g. `roadmapConfig("r50", "kernel7")`. */
export function roadmapConfig(regime: Regime, step: string): RoadmapConfig {
  const found = roadmapSteps(regime).find((s) => s.step === step);
  if (!found) {
    const names = roadmapSteps(regime).map((s) => s.step);
    throw new Error(
      `unknown roadmap step '${step}' in regime ${regime} (expected one of ${names.join(", ")})`,
    );
  }
  return found.config;
}
