/**
 * Raw bytes <-> typed arrays for checkpoint readers and writers.
 * Both checkpoint formats store tensors little-endian at arbitrary byte offsets; typed arrays need offsets aligned
 * to their element size, so readers copy into a fresh buffer (which is always aligned).
 */
import type { DType, HostTensor, TensorData } from "../tensor/host-tensor.ts";
import { BYTES_PER_ELEMENT } from "../tensor/host-tensor.ts";

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function viewAs(dtype: DType, buffer: ArrayBuffer, byteOffset: number, length: number): TensorData {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, byteOffset, length);
    case "float64":
      return new Float64Array(buffer, byteOffset, length);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buffer, byteOffset, length);
    case "int64":
      return new BigInt64Array(buffer, byteOffset, length);
    case "int32":
      return new Int32Array(buffer, byteOffset, length);
    case "int8":
      return new Int8Array(buffer, byteOffset, length);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer, byteOffset, length);
  }
}

/** Reverses the bytes of every `size`-byte element in place. */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Copies `bytes` (any alignment) into a new typed array of `dtype`.
 * `littleEndian` says how the bytes are stored; they are swapped when the host differs.
 */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array, littleEndian = true): TensorData {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  // Uint8Array's slice copies; a Node Buffer's own slice() is a view of the same memory (often a whole file or
  // the shared pool), whose .buffer would then be read from its start.
  const copy = Uint8Array.prototype.slice.call(bytes);
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(copy, size);
  return viewAs(dtype, copy.buffer, 0, copy.byteLength / size);
}

/** The little-endian bytes of a tensor: a view when the host is little-endian, else a swapped copy. */
export function tensorBytes(t: HostTensor): Uint8Array {
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytes(copy, BYTES_PER_ELEMENT[t.dtype]);
  return copy;
}

/** The typed array a dtype is stored in (float16/bfloat16 as raw Uint16 bits, bool as Uint8). */
export function emptyTypedArray(dtype: DType, length: number): TensorData {
  return viewAs(dtype, new ArrayBuffer(length * BYTES_PER_ELEMENT[dtype]), 0, length);
}
