// The small gray-image ConvNeXt the training tests run: fast enough for many steps, every block kind present.
import { type ConvNeXtConfig, makeConfig } from "../src/models/config.ts";

export function tinyGrayConvNeXt(overrides: Partial<ConvNeXtConfig> = {}): ConvNeXtConfig {
  return makeConfig({
    dims: [8, 16, 24, 32],
    depths: [1, 1, 1, 1],
    patchSize: 2,
    kernelSize: 3,
    inChans: 1,
    numClasses: 10,
    ...overrides,
  });
}
