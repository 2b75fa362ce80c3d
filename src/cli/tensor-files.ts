/** Reading and writing tensor files for the CLI (safetensors; writes are atomic). */
import { saveSafetensors } from "../checkpoint/load-node.ts";
import { parseSafetensors } from "../checkpoint/safetensors.ts";
import { type Float32Tensor, type HostTensor, toFloat32 } from "../tensor/host-tensor.ts";
import { LIMITS } from "../tensor/limits.ts";
import { readBoundedFile } from "../tensor/read-file-node.ts";
import { withFile } from "./errors.ts";

export async function readTensorFile(path: string): Promise<Map<string, HostTensor>> {
  const bytes = await readBoundedFile(path, { maxBytes: LIMITS.maxCheckpointBytes, what: "tensor file" });
  return withFile(path, async () => parseSafetensors(bytes, path).tensors);
}

export function requireTensor(tensors: Map<string, HostTensor>, name: string, file: string): HostTensor {
  const t = tensors.get(name);
  if (!t)
    throw new Error(`${file} has no tensor '${name}' (it has: ${[...tensors.keys()].join(", ") || "none"})`);
  return t;
}

/** A tensor of the file as float32: any floating-point dtype converts, others are refused naming file and tensor. */
export function requireFloatTensor(
  tensors: Map<string, HostTensor>,
  name: string,
  file: string,
): Float32Tensor {
  const t = requireTensor(tensors, name, file);
  if (!["float32", "float64", "float16", "bfloat16"].includes(t.dtype))
    throw new Error(`${file}: tensor '${name}' is ${t.dtype}; a floating-point tensor is needed`);
  return toFloat32(t);
}

export async function writeTensorFile(
  path: string,
  tensors: Map<string, HostTensor>,
  metadata?: Record<string, string>,
) {
  await saveSafetensors(path, tensors, metadata);
}
