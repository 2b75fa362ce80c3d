// Shared by the roadmap tests: fixture loading, the reduced fixture configuration, tolerance checks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseSafetensors } from "../../src/checkpoint/safetensors.ts";
import type { RoadmapConfig } from "../../src/models/roadmap.ts";
import type { HostTensor } from "../../src/tensor/host-tensor.ts";
import { fixture } from "../fixtures.ts";

export interface ManifestStep {
  config: Record<string, unknown>;
  params: number;
  tensors: number;
  modules: [string, string][];
}

export interface RoadmapManifest {
  steps: Record<string, ManifestStep>;
  torchvision_resnet50_state_dict: [string, number[]][];
}

export const MANIFEST: RoadmapManifest = JSON.parse(
  readFileSync(fixture("roadmap", "manifest.json"), "utf8"),
);

export function readTensors(...parts: string[]): Map<string, HostTensor> {
  const path = fixture(...parts);
  return parseSafetensors(new Uint8Array(readFileSync(path)), path).tensors;
}

/**
 * The fixtures' reduced size (README §F): width / 8, depths (1,1,2,1), 5 classes. Derived from our preset,
 * so the fixture checks the preset itself.
 */
export function reduced(cfg: RoadmapConfig, fx: ManifestStep): RoadmapConfig {
  const width = fx.config.width as number;
  const factor = cfg.stemWidth / width;
  return {
    ...cfg,
    depths: fx.config.depths as number[],
    widths: cfg.widths.map((w) => w / factor),
    stemWidth: width,
    numClasses: fx.config.num_classes as number,
  };
}

/** Why `actual` is not within abs, or rel × max|expected| (the fixtures' gradient tolerance), of `expected`. */
export function mismatch(
  name: string,
  actual: HostTensor,
  expected: HostTensor,
  abs: number,
  rel = 0,
): string | undefined {
  if (actual.dims.join() !== expected.dims.join())
    return `${name}: shape [${actual.dims}] vs [${expected.dims}]`;
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  let maxRef = 0;
  for (const v of e) maxRef = Math.max(maxRef, Math.abs(v));
  const tol = Math.max(abs, rel * maxRef);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  return worst <= tol ? undefined : `${name}: max |diff| ${worst} at ${at} (${a[at]} vs ${e[at]}) > ${tol}`;
}

export function assertClose(
  name: string,
  actual: HostTensor,
  expected: HostTensor,
  abs: number,
  rel = 0,
): void {
  const why = mismatch(name, actual, expected, abs, rel);
  assert.ok(why === undefined, why);
}

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
