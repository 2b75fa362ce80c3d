/**
 * "Modernizing a ResNet" ("A ConvNet for the 2020s", Liu et al., CVPR 2022, Section 2): one parametrised
 * builder whose options are the paper's design decisions, from torchvision's ResNet-50 to ConvNeXt-T (and
 * ResNet-200 to ConvNeXt-B). The steps are data (roadmap-presets.ts); docs/roadmap.md spells out every
 * architecture with its parameter and multiply-add counts.
 *
 * Everything runs in NCHW: 1×1 layers are Convs (the reference fixtures store them as [out, in, 1, 1]),
 * channel LayerNorms run on a transposed NHWC view (as timm does), BatchNorm is ONNX BatchNormalization in
 * inference and a composition of primitives in training (ops/batchnorm.ts).
 *
 * Parameter names: three schemes over one structure.
 * - "roadmap" (default): the reference builder's module names, for every step — `stem.0`,
 *   `stages.S.B.branch.I` (I counts every layer of the residual branch, activations included),
 *   `stages.S.B.shortcut.{0,1}`, `stages.S.B.layer_scale.gamma`, separate downsamplers as block 0 of their
 *   stage (`stages.S.0.{0,1}`), `head_norm`, `fc`.
 * - "torchvision": `conv1`, `bn1`, `layerL.B.convK` / `bnK`, `layerL.B.downsample.{0,1}`, `fc` — for the
 *   ResNet-style steps, so torchvision's resnet50 state dict loads as is.
 * - "timm": ConvNeXt's canonical names (`stem.{0,1}`, `stages.S.downsample.{0,1}`,
 *   `stages.S.blocks.B.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}`, `head.norm`, `head.fc`, with 2-D fc weights)
 *   — for the final step, so timm ConvNeXt weights load as is.
 *
 * Conv bias rule (the paper does not say; it changes parameters only): a conv directly followed by a
 * BatchNorm has no bias, every other conv has one. This reproduces torchvision and the released ConvNeXt.
 */
import { type Dim, f, Graph, type Node } from "../graph/graph.ts";
import { batchNormInference, batchNormOps, batchNormTraining, foldBatchNorm } from "../ops/batchnorm.ts";
import { registerOps } from "../ops/index.ts";
import { maxPool, poolOps } from "../ops/pool.ts";
import { i64, reshape, transpose } from "../ops/types.ts";
import { type HostTensor, sameDims, shapeString, toFloat32 } from "../tensor/host-tensor.ts";
import { gelu } from "./convnext.ts";
import { countMacs, countParams } from "./count.ts";
import { type Regime, type RoadmapConfig, type RoadmapStep, roadmapSteps } from "./roadmap-presets.ts";

export {
  REGIMES,
  type Regime,
  type RoadmapConfig,
  type RoadmapStep,
  roadmapConfig,
  roadmapSteps,
} from "./roadmap-presets.ts";

registerOps({ ...batchNormOps, ...poolOps });

export type RoadmapNaming = "roadmap" | "torchvision" | "timm";

export interface RoadmapBuildOptions {
  /** Weights (and BatchNorm buffers) baked in as initializers; without them, each is a graph input. */
  weights?: Map<string, HostTensor>;
  /** Input shape; default [N, inChans, H, W] with symbolic N, H, W. Training needs a static one. */
  inputShape?: Dim[];
  /**
   * Training mode: BatchNorm uses batch statistics and its updated running statistics become graph outputs
   * `running.<buffer name>`; LayerNorms output Mean/InvStdDev for the backward pass; the max pool outputs
   * its argmax indices.
   */
  training?: boolean;
  /** Parameter naming scheme (default "roadmap"). */
  naming?: RoadmapNaming;
  /**
   * Inference with every conv→BatchNorm pair folded into the conv (weights from `foldBatchNorms`): those
   * BatchNorms disappear and their convs gain a bias.
   */
  foldedBatchNorm?: boolean;
}

export interface BuiltRoadmap {
  graph: Graph;
  /** Trainable parameters, name → shape, in forward order. */
  params: Map<string, number[]>;
  /** BatchNorm running statistics (not parameters: they are not counted and get no gradient). */
  buffers: Map<string, number[]>;
  /** The logits value (also a graph output, named "logits"). */
  logits: string;
  /** Training mode: buffer name → graph output holding its updated value. */
  running: Map<string, string>;
}

/** Where a layer sits in the network; the naming schemes turn it into a module name. */
type Site =
  | { at: "stem"; index: number }
  | { at: "downsample"; stage: number; index: number }
  | { at: "branch"; stage: number; block: number; index: number; conv: number; kind: "conv" | "norm" }
  | { at: "shortcut"; stage: number; block: number; index: number }
  | { at: "layer_scale"; stage: number; block: number }
  | { at: "head_norm" }
  | { at: "fc" };

interface Namer {
  module(site: Site): string;
  /** Whether the layer is stored as a Linear ([out, in]) rather than a 1×1 conv. */
  linear(site: Site): boolean;
}

function roadmapNamer(cfg: RoadmapConfig): Namer {
  // Separate downsamplers are module 0 of their stage, pushing the blocks up by one.
  const slot = (s: number, b: number) => b + (cfg.downsample === "separate" && s > 0 ? 1 : 0);
  return {
    module: (site) => {
      switch (site.at) {
        case "stem":
          return `stem.${site.index}`;
        case "downsample":
          return `stages.${site.stage}.0.${site.index}`;
        case "branch":
          return `stages.${site.stage}.${slot(site.stage, site.block)}.branch.${site.index}`;
        case "shortcut":
          return `stages.${site.stage}.${slot(site.stage, site.block)}.shortcut.${site.index}`;
        case "layer_scale":
          return `stages.${site.stage}.${slot(site.stage, site.block)}.layer_scale`;
        case "head_norm":
          return "head_norm";
        case "fc":
          return "fc";
      }
    },
    linear: () => false,
  };
}

const torchvisionNamer: Namer = {
  module: (site) => {
    switch (site.at) {
      case "stem":
        return site.index === 0 ? "conv1" : "bn1";
      case "branch":
        return `layer${site.stage + 1}.${site.block}.${site.kind === "conv" ? "conv" : "bn"}${site.conv}`;
      case "shortcut":
        return `layer${site.stage + 1}.${site.block}.downsample.${site.index}`;
      case "fc":
        return "fc";
      default:
        throw new Error(`torchvision names have no '${site.at}' layer`);
    }
  },
  linear: () => false,
};

const TIMM_BRANCH = ["conv_dw", "mlp.fc1", "mlp.fc2"];
const timmNamer: Namer = {
  module: (site) => {
    switch (site.at) {
      case "stem":
        return `stem.${site.index}`;
      case "downsample":
        return `stages.${site.stage}.downsample.${site.index}`;
      case "branch": {
        const block = `stages.${site.stage}.blocks.${site.block}`;
        return `${block}.${site.kind === "norm" ? "norm" : TIMM_BRANCH[site.conv - 1]}`;
      }
      case "layer_scale":
        return `stages.${site.stage}.blocks.${site.block}`;
      case "head_norm":
        return "head.norm";
      case "fc":
        return "head.fc";
      default:
        throw new Error(`timm names have no '${site.at}' layer`);
    }
  },
  linear: (site) => site.at === "branch" && site.kind === "conv" && site.conv > 1,
};

/** The foreign schemes describe one architecture family each; anything else gets a clear refusal. */
function namerFor(cfg: RoadmapConfig, naming: RoadmapNaming): Namer {
  const require = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`'${naming}' parameter names need ${what}`);
  };
  if (naming === "roadmap") return roadmapNamer(cfg);
  if (naming === "torchvision") {
    require(cfg.stem === "resnet" && cfg.stemNorm, "the ResNet stem with its norm (conv1, bn1)");
    require(cfg.norm === "bn" && !cfg.fewerNorms, "a BatchNorm after every conv (bnK)");
    require(cfg.downsample === "block" && !cfg.headNorm, "in-block downsampling and no head norm");
    require(cfg.layerScale === null, "no layer scale");
    require(cfg.shortcutNorm, "a norm in every projection shortcut (downsample.1)");
    return torchvisionNamer;
  }
  if (naming === "timm") {
    require(cfg.block === "dw_first" && cfg.fewerActs && cfg.fewerNorms, "ConvNeXt blocks");
    require(cfg.norm === "ln" && cfg.stemNorm && !cfg.stemAct && cfg.headNorm, "LayerNorms in stem and head");
    require(cfg.stem === "patchify" &&
      cfg.downsample === "separate", "a patchify stem and separate downsampling");
    require(cfg.stemWidth === cfg.widths[0], "a stem as wide as stage 1 (no shortcut convs)");
    return timmNamer;
  }
  throw new Error(`unknown naming scheme '${naming}' (expected roadmap, torchvision or timm)`);
}

interface ConvSpec {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  groups: number;
}

const pointwise = (cin: number, cout: number, stride = 1): ConvSpec => ({
  cin,
  cout,
  k: 1,
  stride,
  pad: 0,
  groups: 1,
});

/** Output width of a stage's blocks. */
function stageOut(cfg: RoadmapConfig, s: number): number {
  return cfg.block === "bottleneck" ? cfg.mlpRatio * cfg.widths[s] : cfg.widths[s];
}

function validate(cfg: RoadmapConfig, opts: RoadmapBuildOptions): void {
  if (cfg.depths.length !== cfg.widths.length) {
    throw new Error(
      `depths (${cfg.depths.length} stages) and widths (${cfg.widths.length} stages) differ in length`,
    );
  }
  if (cfg.numClasses <= 0) throw new Error(`numClasses must be positive, got ${cfg.numClasses}`);
  if (cfg.kernelSize % 2 !== 1)
    throw new Error(`kernelSize must be odd (padding k//2 keeps the size), got ${cfg.kernelSize}`);
  if (opts.training && opts.foldedBatchNorm)
    throw new Error("folded BatchNorm is for inference; training needs it unfolded");
  if (opts.training && !opts.inputShape?.every((d) => typeof d === "number")) {
    throw new Error("a training graph needs a static inputShape (BatchNorm and the gradients use it)");
  }
}

/** Builds the forward graph of one roadmap configuration. Input `x` is NCHW float32; output `logits`. */
export function buildRoadmap(cfg: RoadmapConfig, opts: RoadmapBuildOptions = {}): BuiltRoadmap {
  validate(cfg, opts);
  const namer = namerFor(cfg, opts.naming ?? "roadmap");
  const training = opts.training ?? false;
  const folded = opts.foldedBatchNorm ?? false;
  const g = new Graph("roadmap");
  const params = new Map<string, number[]>();
  const buffers = new Map<string, number[]>();
  const running = new Map<string, string>();
  const x = g.input("x", "float32", opts.inputShape ?? ["N", cfg.inChans, "H", "W"]);

  const tensor = (name: string, dims: number[], buffer = false): string => {
    if (params.has(name) || buffers.has(name)) throw new Error(`parameter name '${name}' is used twice`);
    (buffer ? buffers : params).set(name, dims);
    if (!opts.weights) return g.input(name, "float32", dims);
    const t = opts.weights.get(name);
    if (!t) throw new Error(`weights lack '${name}' ${shapeString(dims)}`);
    if (!sameDims(t.dims, dims)) {
      throw new Error(
        `weights '${name}' have shape ${shapeString(t.dims)}, the model needs ${shapeString(dims)}`,
      );
    }
    return g.initializer(name, toFloat32(t));
  };

  const conv = (site: Site, h: string, spec: ConvSpec, bias: boolean): string => {
    const m = namer.module(site);
    const { cin, cout, k, groups } = spec;
    if (cin % groups !== 0 || cout % groups !== 0) {
      throw new Error(`${m}: ${cin}→${cout} channels do not split into ${groups} groups`);
    }
    let w: string;
    if (namer.linear(site)) {
      if (k !== 1 || groups !== 1) throw new Error(`${m}: only a 1×1 dense conv can be stored as a Linear`);
      w = reshape(g, tensor(`${m}.weight`, [cout, cin]), [cout, cin, 1, 1]);
    } else {
      w = tensor(`${m}.weight`, [cout, cin / groups, k, k]);
    }
    const inputs = bias ? [h, w, tensor(`${m}.bias`, [cout])] : [h, w];
    const attrs = {
      kernel_shape: [k, k],
      strides: [spec.stride, spec.stride],
      pads: [spec.pad, spec.pad, spec.pad, spec.pad],
      group: groups,
    };
    return g.op("Conv", inputs, attrs, "conv");
  };

  /** Norm over channels of NCHW (spatial) or [N, C] (after pooling) input. */
  const norm = (site: Site, h: string, c: number, spatial = true): string => {
    const m = namer.module(site);
    const scale = tensor(`${m}.weight`, [c]);
    const bias = tensor(`${m}.bias`, [c]);
    if (cfg.norm === "bn") {
      const v = {
        scale,
        bias,
        mean: tensor(`${m}.running_mean`, [c], true),
        var: tensor(`${m}.running_var`, [c], true),
      };
      if (!training) return batchNormInference(g, h, v, cfg.bnEps);
      const r = batchNormTraining(g, h, v, cfg.bnEps, cfg.bnMomentum);
      running.set(`${m}.running_mean`, r.runningMean);
      running.set(`${m}.running_var`, r.runningVar);
      return r.y;
    }
    const ln = (t: string) =>
      g.add(
        "LayerNormalization",
        [t, scale, bias],
        { axis: -1, epsilon: f(cfg.lnEps) },
        training ? 3 : 1,
        "ln",
      )[0];
    return spatial ? transpose(g, ln(transpose(g, h, [0, 2, 3, 1])), [0, 3, 1, 2]) : ln(h);
  };

  const activation = (h: string): string => (cfg.act === "relu" ? g.op("Relu", [h]) : gelu(g, h));

  /** conv → norm? → act?, folding the norm into the conv where asked. */
  const unit = (convSite: Site, normSite: Site | null, act: boolean, h: string, spec: ConvSpec): string => {
    const bnAfter = normSite !== null && cfg.norm === "bn";
    let y = conv(convSite, h, spec, !bnAfter || folded);
    if (normSite && !(bnAfter && folded)) y = norm(normSite, y, spec.cout);
    return act ? activation(y) : y;
  };

  const groupsOf = (c: number) => (cfg.groups === "depthwise" ? c : cfg.groups);
  const spatialConv = (c: number, stride: number): ConvSpec => ({
    cin: c,
    cout: c,
    k: cfg.kernelSize,
    stride,
    pad: Math.floor(cfg.kernelSize / 2),
    groups: groupsOf(c),
  });

  /** One residual block; `stride` 2 in the first block of a stage that downsamples in-block. */
  const block = (
    h: string,
    s: number,
    b: number,
    cin: number,
    stride: number,
  ): { y: string; cout: number } => {
    const w = cfg.widths[s];
    const cout = stageOut(cfg, s);
    const hidden = cfg.mlpRatio * (cfg.hiddenFrom === "out" ? w : cin);
    const onFirst = cfg.strideOn === "first" ? stride : 1;
    const onSpatial = cfg.strideOn === "first" ? 1 : stride;
    let specs: ConvSpec[];
    let actAt: number; // the one activation kept by fewerActs: after the first 1×1 conv
    if (cfg.block === "bottleneck") {
      specs = [pointwise(cin, w, onFirst), spatialConv(w, onSpatial), pointwise(w, cout)];
      actAt = 0;
    } else if (cfg.block === "inverted") {
      specs = [pointwise(cin, hidden, onFirst), spatialConv(hidden, onSpatial), pointwise(hidden, cout)];
      actAt = 0;
    } else {
      specs = [spatialConv(cin, stride), pointwise(cin, hidden), pointwise(hidden, cout)];
      actAt = 1;
    }
    let seq = 0;
    let y = h;
    specs.forEach((spec, i) => {
      const at = { at: "branch", stage: s, block: b, conv: i + 1 } as const;
      const convSite: Site = { ...at, index: seq++, kind: "conv" };
      const hasNorm = cfg.fewerNorms ? i === 0 : true;
      const normSite: Site | null = hasNorm ? { ...at, index: seq++, kind: "norm" } : null;
      const hasAct = i < specs.length - 1 && (cfg.fewerActs ? i === actAt : true);
      y = unit(convSite, normSite, hasAct, y, spec);
      if (hasAct) seq++;
    });
    if (cfg.layerScale !== null) {
      const gamma = tensor(`${namer.module({ at: "layer_scale", stage: s, block: b })}.gamma`, [cout]);
      y = g.op("Mul", [y, reshape(g, gamma, [cout, 1, 1])], {}, "layer_scale");
    }
    let shortcut = h;
    if (stride !== 1 || cin !== cout) {
      const site = (index: number): Site => ({ at: "shortcut", stage: s, block: b, index });
      shortcut = unit(site(0), cfg.shortcutNorm ? site(1) : null, false, h, pointwise(cin, cout, stride));
    }
    let out = g.op("Add", [y, shortcut], {}, "residual");
    if (!cfg.fewerActs) out = activation(out);
    return { y: out, cout };
  };

  // Stem.
  let seq = 0;
  const stemSpec: ConvSpec =
    cfg.stem === "resnet"
      ? { cin: cfg.inChans, cout: cfg.stemWidth, k: 7, stride: 2, pad: 3, groups: 1 }
      : { cin: cfg.inChans, cout: cfg.stemWidth, k: cfg.patchSize, stride: cfg.patchSize, pad: 0, groups: 1 };
  const stemConv: Site = { at: "stem", index: seq++ };
  const stemNorm: Site | null = cfg.stemNorm ? { at: "stem", index: seq++ } : null;
  let h = unit(stemConv, stemNorm, cfg.stemAct, x, stemSpec);
  if (cfg.stem === "resnet") h = maxPool(g, h, { kernel: 3, stride: 2, pad: 1 }, training);
  let c = cfg.stemWidth;

  // Stages.
  for (let s = 0; s < cfg.depths.length; s++) {
    if (cfg.downsample === "separate" && s > 0) {
      const out = stageOut(cfg, s);
      h = norm({ at: "downsample", stage: s, index: 0 }, h, c);
      const spec: ConvSpec = { cin: c, cout: out, k: 2, stride: 2, pad: 0, groups: 1 };
      h = conv({ at: "downsample", stage: s, index: 1 }, h, spec, true);
      c = out;
    }
    for (let b = 0; b < cfg.depths[s]; b++) {
      const stride = cfg.downsample === "block" && s > 0 && b === 0 ? 2 : 1;
      ({ y: h, cout: c } = block(h, s, b, c, stride));
    }
  }

  // Head: global average pool → norm? → Linear.
  let pooled = g.op("ReduceMean", [h, i64(g, [2, 3])], { keepdims: 0 }, "pool");
  if (cfg.headNorm) pooled = norm({ at: "head_norm" }, pooled, c, false);
  const fc = namer.module({ at: "fc" });
  const fcInputs = [
    pooled,
    tensor(`${fc}.weight`, [cfg.numClasses, c]),
    tensor(`${fc}.bias`, [cfg.numClasses]),
  ];
  const logits = g.op("Gemm", fcInputs, { transB: 1 }, "logits");
  g.output(logits);
  const runningOutputs = new Map<string, string>();
  for (const [name, value] of running) {
    const out = g.op("Identity", [value], {}, `running.${name}`);
    g.output(out);
    runningOutputs.set(name, out);
  }
  return { graph: g, params, buffers, logits, running: runningOutputs };
}

/** Parameter and buffer names with shapes, without building weights. */
export function roadmapParamShapes(
  cfg: RoadmapConfig,
  naming: RoadmapNaming = "roadmap",
): { params: Map<string, number[]>; buffers: Map<string, number[]> } {
  const { params, buffers } = buildRoadmap(cfg, { naming });
  return { params, buffers };
}

/**
 * Folds every conv→BatchNorm pair of `weights` (a full inference state: parameters and running statistics)
 * into the conv, for `buildRoadmap(cfg, { foldedBatchNorm: true })`. BatchNorms not directly after a conv
 * stay. Keys the model does not use (e.g. `num_batches_tracked`) are passed through.
 */
export function foldBatchNorms(
  cfg: RoadmapConfig,
  weights: Map<string, HostTensor>,
  naming: RoadmapNaming = "roadmap",
): Map<string, HostTensor> {
  const { graph } = buildRoadmap(cfg, { naming });
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const get = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`weights lack '${name}' (needed to fold BatchNorm)`);
    return t;
  };
  const out = new Map(weights);
  for (const n of graph.nodes) {
    if (n.op !== "BatchNormalization") continue;
    const convNode = producer.get(n.inputs[0]);
    if (convNode?.op !== "Conv") continue;
    const [, wName, bName] = convNode.inputs;
    const [, scale, bias, mean, variance] = n.inputs;
    const bn = { scale: get(scale), bias: get(bias), mean: get(mean), var: get(variance) };
    const fused = foldBatchNorm(get(wName), bName ? get(bName) : undefined, bn, cfg.bnEps);
    out.set(wName, fused.weight);
    out.set(wName.replace(/\.weight$/, ".bias"), fused.bias);
    for (const k of [scale, bias, mean, variance]) out.delete(k);
  }
  return out;
}

/** Parameter count and plain multiply-adds (conv + linear, the paper's "FLOPs") at one input size. */
export function countRoadmap(cfg: RoadmapConfig, imageSize = 224): { params: number; macs: number } {
  const { graph, params } = buildRoadmap(cfg, { inputShape: [1, cfg.inChans, imageSize, imageSize] });
  return { params: countParams(params), macs: countMacs(graph) };
}

export interface RoadmapRow extends RoadmapStep {
  params: number;
  macs: number;
}

/** Every step of a regime with its counted parameters and multiply-adds. */
export function roadmapTable(regime: Regime = "r50", imageSize = 224): RoadmapRow[] {
  return roadmapSteps(regime).map((s) => ({ ...s, ...countRoadmap(s.config, imageSize) }));
}
