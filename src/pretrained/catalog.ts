/**
 * The pretrained table as a catalogue for people choosing weights (`convnext list`): who trained each entry,
 * its licence, and the ImageNet-1k top-1 its authors published. Accuracies are kept here, apart from the
 * download table, because they are documentation: nothing loads or checks weights by them.
 *
 * Top-1 sources (at the entry's own evaluation size): facebookresearch/ConvNeXt and ConvNeXt-V2 README tables;
 * torchvision's weight enums (`acc@1`). timm's own runs are left blank rather than quoted from memory.
 */
import { PRETRAINED, type PretrainedEntry } from "./registry.ts";

export interface CatalogEntry {
  name: string;
  /** Who trained the weights: facebookresearch/ConvNeXt, facebookresearch/ConvNeXt-V2, timm or torchvision. */
  source: string;
  license: string;
  labels: string;
  numClasses: number;
  /** Evaluation input side, or [height, width]. */
  inputSize: number | readonly [number, number];
  /** Published ImageNet-1k top-1 in percent, where the authors list one. */
  top1?: number;
}

const v1 = (sizes: Record<string, number>, tag: string) =>
  Object.entries(sizes).map(([s, top1]) => [`convnext_${s}.${tag}`, top1] as const);
const v2 = (sizes: Record<string, number>, tag: string) =>
  Object.entries(sizes).map(([s, top1]) => [`convnextv2_${s}.${tag}`, top1] as const);

const TOP1: ReadonlyMap<string, number> = new Map([
  ...v1({ tiny: 82.1, small: 83.1, base: 83.8, large: 84.3 }, "fb_in1k"),
  ...v1({ tiny: 82.9, small: 84.6, base: 85.8, large: 86.6, xlarge: 87.0 }, "fb_in22k_ft_in1k"),
  ...v1({ tiny: 84.1, small: 85.8, base: 86.8, large: 87.5, xlarge: 87.8 }, "fb_in22k_ft_in1k_384"),
  ...v2(
    { atto: 76.7, femto: 78.5, pico: 80.3, nano: 81.9, tiny: 83.0, base: 84.9, large: 85.8, huge: 86.3 },
    "fcmae_ft_in1k",
  ),
  ...v2({ nano: 82.1, tiny: 83.9, base: 86.8, large: 87.3 }, "fcmae_ft_in22k_in1k"),
  ...v2({ nano: 83.4, tiny: 85.1, base: 87.7, large: 88.2, huge: 88.7 }, "fcmae_ft_in22k_in1k_384"),
  ...v2({ huge: 88.9 }, "fcmae_ft_in22k_in1k_512"),
  ...v1({ tiny: 82.52, small: 83.616, base: 84.062, large: 84.414 }, "tv_in1k"),
]);

function source(e: PretrainedEntry): string {
  if (e.files.some((f) => f.keys === "torchvision")) return "torchvision";
  if (e.files.some((f) => f.keys === "official"))
    return e.version === 2 ? "facebookresearch/ConvNeXt-V2" : "facebookresearch/ConvNeXt";
  return "timm";
}

export function pretrainedCatalog(): CatalogEntry[] {
  return PRETRAINED.map((e) => {
    const top1 = TOP1.get(e.name);
    return {
      name: e.name,
      source: source(e),
      license: e.license,
      labels: e.labels,
      numClasses: e.numClasses,
      inputSize: e.preprocess.inputSize,
      ...(top1 === undefined ? {} : { top1 }),
    };
  });
}
