/**
 * What a PyTorch checkpoint's pickle may build: the allow-list the unpickler (pickle.ts) checks every GLOBAL
 * against, and the small functions that stand in for the allowed Python callables. Everything here only builds
 * data; nothing refers to code named by the file. Kept apart from the opcode interpreter so it reviews on its own.
 */
import type { DType, HostTensor, TensorData } from "../tensor/host-tensor.ts";
import { BYTES_PER_ELEMENT, isNonNegativeIntList, numel, shapeString } from "../tensor/host-tensor.ts";
import { emptyTypedArray } from "./tensor-bytes.ts";

/** A global name the allow-list accepted (a class, function or constant such as `torch.float32`). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an allowed plain-attribute class (argparse.Namespace), with the attributes BUILD gave it. */
export class PyObject {
  readonly fields: Record<string, unknown> = Object.create(null);
  constructor(readonly type: string) {}
}

/** A torch storage: the flat elements tensors index into with offset, size and stride. */
export interface TorchStorage {
  kind: "torch-storage";
  dtype: DType;
  data: TensorData;
}

export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ByteStorage: "uint8",
  BoolStorage: "bool",
  CharStorage: "int8",
};

const TORCH_DTYPE_NAMES = [
  "float32",
  "float",
  "float64",
  "double",
  "float16",
  "half",
  "bfloat16",
  "int64",
  "long",
  "int32",
  "int",
  "int8",
  "uint8",
  "bool",
];

/** What the unpickler lends a call: `copy` charges bytes a call is about to copy against the file's budget. */
export interface CallContext {
  copy(bytes: number, what: string): void;
}

export type Call = (args: readonly unknown[], fail: (why: string) => Error, ctx: CallContext) => unknown;

function isTensor(v: unknown): v is HostTensor {
  return typeof v === "object" && v !== null && "dtype" in v && "dims" in v && "data" in v;
}

function isStorage(v: unknown): v is TorchStorage {
  return typeof v === "object" && v !== null && (v as TorchStorage).kind === "torch-storage";
}

type AnyArray = { length: number; [i: number]: number | bigint };

/**
 * torch's `_rebuild_tensor`: a view (offset, size, stride) into a storage. A contiguous view shares the storage
 * (as in torch, so tied weights stay tied and many views of one storage cost nothing); a strided view is copied
 * out, after its size is charged to the file's copy budget, so a stride-0 view of 2^29 elements is refused before
 * anything is allocated.
 */
function rebuildTensor(args: readonly unknown[], fail: (why: string) => Error, ctx: CallContext): HostTensor {
  const [storage, offset, size, stride] = args;
  if (!isStorage(storage)) throw fail("tensor rebuild without a storage");
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0)
    throw fail("bad storage offset");
  if (!isNonNegativeIntList(size) || !isNonNegativeIntList(stride) || size.length !== stride.length) {
    throw fail("tensor rebuild with a malformed size or stride");
  }
  const dims = [...size];
  const n = numel(dims);
  const { dtype, data } = storage;
  if (n === 0) return { dtype, dims, data: emptyTypedArray(dtype, 0) };
  let last = offset;
  for (let i = 0; i < dims.length; i++) last += (dims[i] - 1) * stride[i];
  if (last >= data.length) {
    throw fail(
      `tensor ${shapeString(dims)} at offset ${offset} reads past its ${data.length}-element storage`,
    );
  }
  let contiguous = true;
  for (let i = dims.length - 1, expected = 1; i >= 0; i--) {
    if (dims[i] !== 1 && stride[i] !== expected) contiguous = false;
    expected *= dims[i];
  }
  if (contiguous) {
    if (offset === 0 && n === data.length) return { dtype, dims, data };
    return { dtype, dims, data: (data as Float32Array).subarray(offset, offset + n) as TensorData };
  }
  ctx.copy(n * BYTES_PER_ELEMENT[dtype], `tensor ${shapeString(dims)} (a strided view)`);
  const out = emptyTypedArray(dtype, n);
  const src = data as unknown as AnyArray;
  const dst = out as unknown as AnyArray;
  const index = new Array<number>(dims.length).fill(0);
  let at = offset;
  for (let i = 0; i < n; i++) {
    dst[i] = src[at];
    for (let d = dims.length - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < dims[d]) break;
      at -= stride[d] * dims[d];
      index[d] = 0;
    }
  }
  return { dtype, dims, data: out };
}

function parameterData(args: readonly unknown[], fail: (why: string) => Error): HostTensor {
  if (!isTensor(args[0])) throw fail("Parameter rebuild without a tensor");
  return args[0];
}

function orderedDict(args: readonly unknown[], fail: (why: string) => Error): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  if (args.length === 0) return out;
  if (!Array.isArray(args[0])) throw fail("OrderedDict built from something other than a list of pairs");
  for (const pair of args[0]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw fail("OrderedDict item is not a pair");
    out.set(pair[0], pair[1]);
  }
  return out;
}

function makeSet(args: readonly unknown[], fail: (why: string) => Error): Set<unknown> {
  if (args.length === 0) return new Set();
  if (!Array.isArray(args[0])) throw fail("set built from something other than a list");
  return new Set(args[0]);
}

/** Tensor subclasses and tensors with Python attributes: `_rebuild_from_type_v2(func, type, args, state)`. */
function rebuildFromType(args: readonly unknown[], fail: (why: string) => Error, ctx: CallContext): unknown {
  const [func, type, funcArgs] = args;
  if (!(type instanceof PickleGlobal) || !TENSOR_TYPES.has(type.qualifiedName)) {
    throw fail("only plain tensors and Parameters can be rebuilt");
  }
  if (
    !(func instanceof PickleGlobal) ||
    !TENSOR_REBUILDERS.has(func.qualifiedName) ||
    !Array.isArray(funcArgs)
  ) {
    throw fail("rebuild function is not a tensor rebuild");
  }
  return CALLABLES[func.qualifiedName](funcArgs, fail, ctx);
}

const TENSOR_TYPES = new Set(["torch.Tensor", "torch.nn.parameter.Parameter"]);
const TENSOR_REBUILDERS = new Set(["torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor"]);

/** Every callable a checkpoint may name. Anything not here is refused when its GLOBAL opcode is read. */
export const CALLABLES: Record<string, Call> = {
  "collections.OrderedDict": orderedDict,
  "torch._utils._rebuild_tensor_v2": rebuildTensor,
  "torch._utils._rebuild_tensor": rebuildTensor,
  "torch._utils._rebuild_parameter": parameterData,
  "torch._utils._rebuild_parameter_with_state": parameterData,
  "torch._tensor._rebuild_from_type_v2": rebuildFromType,
  // Protocol 2 writes Python 3 bytes as _codecs.encode(text, 'latin1') and sets as builtins.set(list).
  "_codecs.encode": (args, fail) => {
    const [text, encoding] = args;
    if (typeof text !== "string" || encoding !== "latin1")
      throw fail("_codecs.encode only rebuilds latin1 bytes");
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  },
  "builtins.set": makeSet,
  "__builtin__.set": makeSet,
  "builtins.frozenset": makeSet,
  "__builtin__.frozenset": makeSet,
  "torch.device": (args) => String(args[0]),
  "torch.Size": (args) => args[0],
  // Official training checkpoints carry their command-line arguments; Namespace only stores attributes.
  "argparse.Namespace": () => new PyObject("argparse.Namespace"),
};

/** Allowed names that are values, never called: storage types and dtypes. */
const CONSTANTS = new Set([
  ...TENSOR_TYPES,
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
  ...TORCH_DTYPE_NAMES.map((d) => `torch.${d}`),
]);

export function isAllowed(qualifiedName: string): boolean {
  return Object.hasOwn(CALLABLES, qualifiedName) || CONSTANTS.has(qualifiedName);
}
