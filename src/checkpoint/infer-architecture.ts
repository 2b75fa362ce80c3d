/**
 * Reads a ConvNeXt architecture off a timm-named state dict, so a checkpoint loads without being told its variant.
 * Everything structural is in the weights: stage widths and block counts in the key set, kernel and patch sizes in
 * conv shapes, V2 by its GRN parameters, layer scale by its gamma, conv_mlp by 4-D fc weights.
 * Not in the weights (left at their defaults): LayerNorm eps, drop path rate, head init scale.
 */
import type { ConvNeXtConfig } from "../models/config.ts";
import { makeConfig } from "../models/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { shapeString } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";

export function inferConfig(tensors: Map<string, HostTensor>, source = "checkpoint"): ConvNeXtConfig {
  const fail = (why: string) => new Error(`${source}: cannot infer the ConvNeXt architecture: ${why}`);
  const get = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw fail(`${key} is missing`);
    return t;
  };

  const stem = get("stem.0.weight");
  if (stem.dims.length !== 4 || stem.dims[2] !== stem.dims[3]) {
    throw fail(`stem.0.weight has shape ${shapeString(stem.dims)}, expected a square conv [C, in, p, p]`);
  }

  // Stage s holds blocks 0..depth-1; a stage with no blocks still shows up through its downsample conv.
  const blocks = new Map<number, Set<number>>();
  let stageCount = 0;
  for (const key of tensors.keys()) {
    const m = /^stages\.(\d+)\.(?:blocks\.(\d+)\.|downsample\.)/.exec(key);
    if (!m) continue;
    const s = Number(m[1]);
    if (s >= LIMITS.maxStages)
      throw fail(`${key} names stage ${s}; at most ${LIMITS.maxStages} stages are supported`);
    stageCount = Math.max(stageCount, s + 1);
    if (m[2] === undefined) continue;
    if (!blocks.has(s)) blocks.set(s, new Set());
    blocks.get(s)!.add(Number(m[2]));
  }
  if (stageCount === 0) throw fail("no stages.* keys");
  const depths: number[] = [];
  for (let s = 0; s < stageCount; s++) {
    const ids = blocks.get(s) ?? new Set<number>();
    for (let b = 0; b < ids.size; b++) if (!ids.has(b)) throw fail(`stage ${s} has no block ${b}`);
    depths.push(ids.size);
  }

  const dims = depths.map((depth, s) => {
    if (depth > 0) return get(`stages.${s}.blocks.0.conv_dw.weight`).dims[0];
    return s === 0 ? stem.dims[0] : get(`stages.${s}.downsample.1.weight`).dims[0];
  });

  const first = depths.findIndex((d) => d > 0);
  if (first < 0) throw fail("no blocks");
  const prefix = `stages.${first}.blocks.0.`;
  const dw = get(`${prefix}conv_dw.weight`);
  if (dw.dims.length !== 4 || dw.dims[2] !== dw.dims[3]) {
    throw fail(`${prefix}conv_dw.weight has shape ${shapeString(dw.dims)}, expected [C, 1, k, k]`);
  }
  const fc1 = get(`${prefix}mlp.fc1.weight`);
  const head = tensors.get("head.fc.weight");

  const version = tensors.has(`${prefix}mlp.grn.weight`) ? 2 : 1;
  // Shapes come from the file: an even or zero kernel must stop here (makeConfig checks), not inside onnxruntime.
  return makeConfig(
    {
      version,
      dims,
      depths,
      numClasses: head ? head.dims[0] : 0,
      inChans: stem.dims[1],
      kernelSize: dw.dims[2],
      patchSize: stem.dims[2],
      convMlp: fc1.dims.length === 4,
      layerScaleInit: tensors.has(`${prefix}gamma`) ? 1e-6 : null,
      mlpRatio: fc1.dims[0] / dims[first],
    },
    fail,
  );
}
