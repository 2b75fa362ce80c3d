/**
 * The bundled Fashion-MNIST model's architecture and training settings (docs/fashion-mnist/README.md), shared by
 * the benchmark that trains it and the throughput benchmark that times its step.
 */
import { type ConvNeXtConfig, makeConfig } from "../src/models/config.ts";
import { SMALL_IMAGE_MODEL } from "../src/train/presets.ts";

export const FASHION_MNIST_RECIPE = {
  epochs: 24,
  batch: 256,
  lr: 4e-3,
  layerScaleInit: 0.1,
  dropPathRate: 0.05,
  /** Random erasing probability. */
  reprob: 0.25,
  emaDecay: 0.998,
};

export function fashionMnistModel(
  opts: { dropPathRate?: number; layerScaleInit?: number } = {},
): ConvNeXtConfig {
  return makeConfig({
    ...SMALL_IMAGE_MODEL,
    inChans: 1,
    numClasses: 10,
    dropPathRate: opts.dropPathRate ?? FASHION_MNIST_RECIPE.dropPathRate,
    layerScaleInit: opts.layerScaleInit ?? FASHION_MNIST_RECIPE.layerScaleInit,
  });
}
