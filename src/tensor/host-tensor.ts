/**
 * HostTensor: the one exchange type between layers (checkpoints, preprocessing, graphs, the runtime).
 * Plain typed arrays, row-major, no Node built-ins, so the same code runs in browsers.
 */

export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int8"
  | "uint8"
  | "bool";

export type TensorData =
  | Float32Array
  | Float64Array
  | Uint16Array // float16 and bfloat16 bits
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array; // uint8 and bool

export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

export type Float32Tensor = HostTensor & { dtype: "float32"; data: Float32Array };

/**
 * A new array of `data`'s element type: empty (`length`), over `buffer`, or a copy of `source`. A Node Buffer
 * gets a plain Uint8Array: Buffer's own constructor is deprecated.
 */
export function newArrayLike<T extends TensorData>(data: T, from: number | ArrayBufferLike | T): T {
  const Typed = arrayClassOf(data) as new (from: number | ArrayBufferLike | T) => T;
  return new Typed(from);
}

function arrayClassOf(data: TensorData): unknown {
  return data instanceof Uint8Array ? Uint8Array : data.constructor;
}

/**
 * One reusable copy per name, in shared memory or not: what a tensor is copied into on every run, so that the copy
 * lands in memory already touched instead of fresh pages.
 */
export class StagingArrays {
  private readonly arrays = new Map<string, TensorData>();

  constructor(private readonly shared: boolean) {}

  copy<T extends TensorData>(name: string, data: T): T {
    let copy = this.arrays.get(name) as T | undefined;
    if (copy?.length !== data.length || arrayClassOf(copy) !== arrayClassOf(data)) {
      copy = newArrayLike(data, this.shared ? new SharedArrayBuffer(data.byteLength) : data.length);
      this.arrays.set(name, copy);
    }
    (copy as Float32Array).set(data as Float32Array);
    return copy;
  }
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

const ARRAY_OF: Record<DType, abstract new (...args: never[]) => TensorData> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/**
 * A one-line error unless `t` is a tensor a writer can store as it claims: a known dtype, non-negative integer
 * dims, and data of that dtype's array type holding exactly their product of values.
 */
export function checkHostTensor(t: HostTensor, what: string): void {
  if (t === null || typeof t !== "object") throw new Error(`${what}: not a tensor { dtype, dims, data }`);
  if (!Object.hasOwn(ARRAY_OF, t.dtype)) throw new Error(`${what}: unknown dtype '${String(t.dtype)}'`);
  if (!isNonNegativeIntList(t.dims))
    throw new Error(`${what}: dims must be an array of non-negative integers`);
  const Typed = ARRAY_OF[t.dtype];
  if (!(t.data instanceof Typed))
    throw new Error(`${what}: ${t.dtype} data must be a ${Typed.name}, got ${describeData(t.data)}`);
  const n = numel(t.dims);
  if (t.data.length !== n)
    throw new Error(
      `${what}: shape ${shapeString(t.dims)} needs ${n} values, its data holds ${t.data.length}`,
    );
}

/** What a JavaScript caller passed where an array was due, for a message: its class (`Float64Array`), or null. */
export function describeData(data: unknown): string {
  return data === null || data === undefined
    ? String(data)
    : ((data as object).constructor?.name ?? typeof data);
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function float32(dims: readonly number[], data?: Float32Array | readonly number[]): Float32Tensor {
  const shape = checkedDims(dims, "float32");
  const n = numel(shape);
  const arr =
    data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== n)
    throw new Error(`float32 tensor [${shape.join(",")}] needs ${n} values, got ${arr.length}`);
  return { dtype: "float32", dims: shape, data: arr };
}

export function int64(dims: readonly number[], values: readonly (number | bigint)[]): HostTensor {
  const shape = checkedDims(dims, "int64");
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  if (data.length !== numel(shape))
    throw new Error(`int64 tensor [${shape.join(",")}] needs ${numel(shape)} values, got ${data.length}`);
  return { dtype: "int64", dims: shape, data };
}

/** Whether `v` is a list of non-negative safe integers, as tensor dims and strides are. */
export function isNonNegativeIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/**
 * A copy of the dims a caller hands to a tensor constructor, or a one-line error: a call from JavaScript with the
 * arguments swapped (`float32(data, dims)`) must name the mistake, not print every value of the data.
 */
function checkedDims(dims: unknown, what: string): number[] {
  if (isNonNegativeIntList(dims)) return [...dims];
  throw new Error(`${what}: dims must be an array of non-negative integers, got ${describeDims(dims)}`);
}

function describeDims(dims: unknown): string {
  if (ArrayBuffer.isView(dims) && !(dims instanceof DataView))
    return `${dims.constructor.name} of ${(dims as unknown as ArrayLike<unknown>).length} values`;
  if (Array.isArray(dims)) {
    const shown = dims.slice(0, 8).map((d) => (typeof d === "number" ? String(d) : typeof d));
    return `[${shown.join(", ")}${dims.length > 8 ? `, … (${dims.length} entries)` : ""}]`;
  }
  return dims === null ? "null" : typeof dims;
}

/** A shape for a message; a hostile file's shape of thousands of entries is cut short. */
export function shapeString(dims: readonly number[]): string {
  if (dims.length <= 16) return `[${dims.join(", ")}]`;
  return `[${dims.slice(0, 8).join(", ")}, … (${dims.length} dims)]`;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** IEEE half bits -> float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float -> IEEE half bits, rounded to nearest even (as numpy's astype(float16)); overflow gives infinity. */
export function floatToHalf(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal halves keep 10 of the 23 mantissa bits; subnormal ones shift the implicit 1 in as well.
  const [bits, shift] = e > 0 ? [(e << 10) | (mant >>> 13), 13] : [0, 14 - e];
  if (e <= 0 && shift > 24) return sign;
  const full = e > 0 ? mant : mant | 0x800000;
  const kept = e > 0 ? bits : full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  // A carry out of the mantissa lands in the exponent, which is the right rounding up to infinity.
  return sign | (kept + (rest > mid || (rest === mid && kept & 1) ? 1 : 0));
}

/** A float tensor as float16 (bits in a Uint16Array). */
export function toFloat16(t: HostTensor): HostTensor {
  const src = toFloat32(t).data;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
  return { dtype: "float16", dims: [...t.dims], data: out };
}

/** Converts any floating tensor (float16, bfloat16, float64) to float32; float32 is returned as is. */
export function toFloat32(t: HostTensor): Float32Tensor {
  switch (t.dtype) {
    case "float32":
      return t as Float32Tensor;
    case "float64":
      return float32(t.dims, Float32Array.from(t.data as Float64Array));
    case "float16": {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return float32(t.dims, out);
    }
    case "bfloat16": {
      const src = t.data as Uint16Array;
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return float32(t.dims, new Float32Array(bits.buffer));
    }
    default:
      throw new Error(`cannot convert a ${t.dtype} tensor to float32`);
  }
}
