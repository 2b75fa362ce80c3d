/** The ConvNeXt family as a data table (reference.md §1, §2). timm's atto..nano use conv_mlp. */
import { type ConvNeXtConfig, makeConfig } from "./config.ts";

interface Variant {
  dims: number[];
  depths: number[];
  convMlp?: boolean;
}

const V1: Record<string, Variant> = {
  atto: { dims: [40, 80, 160, 320], depths: [2, 2, 6, 2], convMlp: true },
  femto: { dims: [48, 96, 192, 384], depths: [2, 2, 6, 2], convMlp: true },
  pico: { dims: [64, 128, 256, 512], depths: [2, 2, 6, 2], convMlp: true },
  nano: { dims: [80, 160, 320, 640], depths: [2, 2, 8, 2], convMlp: true },
  tiny: { dims: [96, 192, 384, 768], depths: [3, 3, 9, 3] },
  small: { dims: [96, 192, 384, 768], depths: [3, 3, 27, 3] },
  base: { dims: [128, 256, 512, 1024], depths: [3, 3, 27, 3] },
  large: { dims: [192, 384, 768, 1536], depths: [3, 3, 27, 3] },
  xlarge: { dims: [256, 512, 1024, 2048], depths: [3, 3, 27, 3] },
};

// V2 keeps V1's widths and depths (no small), and adds huge.
const V2: Record<string, Variant> = {
  ...Object.fromEntries(["atto", "femto", "pico", "nano", "tiny", "base", "large"].map((k) => [k, V1[k]])),
  huge: { dims: [352, 704, 1408, 2816], depths: [3, 3, 27, 3] },
};

export const MODEL_NAMES: string[] = [
  ...Object.keys(V1).map((k) => `convnext_${k}`),
  ...Object.keys(V2).map((k) => `convnextv2_${k}`),
];

/** `convnext_tiny`, `convnextv2_atto`, optionally with a `.tag` suffix (ignored here) and overrides. */
export function modelConfig(name: string, overrides: Partial<ConvNeXtConfig> = {}): ConvNeXtConfig {
  const arch = name.split(".")[0];
  const m = /^convnext(v2)?_(\w+)$/.exec(arch);
  const table = m?.[1] ? V2 : V1;
  const variant = m ? table[m[2]] : undefined;
  if (!m || !variant) {
    throw new Error(`unknown model '${name}'; known: ${MODEL_NAMES.join(", ")}`);
  }
  return makeConfig({
    version: m[1] ? 2 : 1,
    dims: variant.dims,
    depths: variant.depths,
    convMlp: variant.convMlp ?? false,
    ...overrides,
  });
}
