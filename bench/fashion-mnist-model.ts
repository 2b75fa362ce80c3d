/**
 * The bundled Fashion-MNIST model's architecture (docs/fashion-mnist/README.md, trained by `convnext train` with
 * the small-data preset), for the benchmarks that time its training step.
 */
import { type ConvNeXtConfig, makeConfig } from "../src/models/config.ts";
import { PRESETS, SMALL_IMAGE_MODEL } from "../src/train/presets.ts";

export function fashionMnistModel(
  opts: { dropPathRate?: number; layerScaleInit?: number } = {},
): ConvNeXtConfig {
  const preset = PRESETS["small-data"];
  return makeConfig({
    ...SMALL_IMAGE_MODEL,
    inChans: 1,
    numClasses: 10,
    dropPathRate: opts.dropPathRate ?? preset.dropPath.other,
    layerScaleInit: opts.layerScaleInit ?? preset.layerScaleInit,
  });
}
