/**
 * A restricted unpickler for PyTorch's `data.pkl` (pickle protocols 2-5).
 *
 * Python's pickle is a small stack machine whose GLOBAL + REDUCE opcodes call any importable function, so loading
 * an untrusted pickle with Python runs arbitrary code. This is a data interpreter instead: GLOBAL/STACK_GLOBAL look
 * the name up in a fixed allow-list (torch-globals.ts) and refuse anything else on the spot, before a REDUCE can
 * reach it, and the allowed names map to small TypeScript functions that build data (dicts, tensors), never to
 * code from the file.
 * Written by hand because no installed library reads pickles. Opcode semantics follow CPython's `Lib/pickle.py`.
 *
 * Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array, list -> array, tuple -> frozen array, dict / OrderedDict -> Map,
 * set -> Set, torch tensor / Parameter -> HostTensor, argparse.Namespace -> PyObject, torch.dtype -> PickleGlobal.
 */
import type { DType, TensorData } from "../tensor/host-tensor.ts";
import type { Limits } from "../tensor/limits.ts";
import { formatBytes, LIMITS } from "../tensor/limits.ts";
import { printable } from "./printable.ts";
import type { CallContext, TorchStorage } from "./torch-globals.ts";
import { CALLABLES, isAllowed, PickleGlobal, PyObject, STORAGE_DTYPES } from "./torch-globals.ts";

export { PickleGlobal, PyObject } from "./torch-globals.ts";

export interface UnpickleOptions {
  /** Named in every error message (the checkpoint file). */
  source?: string;
  /** Supplies storage `key` for torch's persistent id ('storage', torch.FloatStorage, key, location, numel). */
  loadStorage?: (key: string, dtype: DType, numel: number) => TensorData;
  /** Bounds on opcodes, memo, nesting and integer size (default LIMITS). */
  limits?: Readonly<Pick<Limits, "maxPickleOps" | "maxPickleMemo" | "maxNestingDepth" | "maxPickleIntBytes">>;
  /** Bytes strided tensor views may copy out of their storages, all together. Default: no copies beyond 1 GB. */
  copyBudget?: number;
}

const utf8 = new TextDecoder("utf-8");
const MAX_NAME_BYTES = 1024;

/** Runs the pickle program in `bytes` and returns the object it builds. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const source = opts.source ?? "pickle";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let opStart = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const limits = opts.limits ?? LIMITS;
  let ops = 0;
  let copyBudget = opts.copyBudget ?? 2 ** 30;

  const fail = (why: string) => new Error(`${source}: ${why} (pickle offset ${opStart})`);
  // How deeply each container nests (1 = holds no containers). Checked where containers are filled, so a
  // pickle of a million nested tuples is refused here instead of overflowing the stack of whatever walks it.
  const depths = new WeakMap<object, number>();
  const depthOf = (v: unknown) => (typeof v === "object" && v !== null ? (depths.get(v) ?? 1) : 0);
  const nest = <T>(container: T, items: Iterable<unknown>): T => {
    let d = depthOf(container);
    for (const item of items) d = Math.max(d, depthOf(item) + 1);
    if (d > limits.maxNestingDepth) {
      throw fail(`containers nest deeper than ${limits.maxNestingDepth} levels`);
    }
    if (typeof container === "object" && container !== null) depths.set(container, d);
    return container;
  };
  const ctx: CallContext = {
    copy: (n, what) => {
      if (n > copyBudget) {
        throw fail(
          `${what} would copy ${formatBytes(n)} out of its storage, more than the file's tensors can account for (${formatBytes(Math.max(copyBudget, 0))} left)`,
        );
      }
      copyBudget -= n;
    },
  };
  const remember = (index: number) => {
    if (!memo.has(index) && memo.size >= limits.maxPickleMemo) {
      throw fail(`pickle memo grows past ${limits.maxPickleMemo} entries`);
    }
    memo.set(index, top());
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) {
      throw new Error(`${source}: pickle data ends early at offset ${bytes.length} (truncated file?)`);
    }
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const i32 = () => {
    need(4);
    pos += 4;
    return view.getInt32(pos - 4, true);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const u64 = () => {
    need(8);
    const lo = view.getUint32(pos, true);
    const hi = view.getUint32(pos + 4, true);
    pos += 8;
    if (hi >= 2 ** 21) throw fail("length field too large");
    return hi * 2 ** 32 + lo;
  };
  const take = (n: number) => {
    if (n < 0) throw fail("negative length");
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = () => {
    // Module and class names are short; a missing newline means corrupt data, not a long name.
    const end = bytes.subarray(pos, pos + MAX_NAME_BYTES).indexOf(0x0a) + pos;
    if (end < pos) {
      if (pos + MAX_NAME_BYTES < bytes.length)
        throw fail("GLOBAL name is not newline-terminated (corrupt pickle)");
      throw new Error(`${source}: pickle data ends early at offset ${bytes.length} (truncated file?)`);
    }
    const text = utf8.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const pop = () => {
    if (stack.length === 0) throw fail("pickle stack underflow");
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw fail("pickle stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) throw fail("pickle has no MARK to pop to");
    stack = prev;
    return items;
  };
  const signedLittleEndian = (raw: Uint8Array): number | bigint => {
    if (raw.length > limits.maxPickleIntBytes) {
      throw fail(`pickled integer of ${raw.length} bytes (limit ${limits.maxPickleIntBytes})`);
    }
    // One BigInt from hex digits: linear in the length (shifting in one byte at a time is quadratic).
    let hex = "";
    for (let i = raw.length - 1; i >= 0; i--) hex += raw[i].toString(16).padStart(2, "0");
    let v = raw.length > 0 ? BigInt(`0x${hex}`) : 0n;
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string) => {
    const qualifiedName = `${module}.${name}`;
    if (!isAllowed(qualifiedName)) {
      throw new Error(
        `${source}: refusing to load: pickle calls forbidden global '${printable(qualifiedName)}'`,
      );
    }
    return new PickleGlobal(module, name);
  };
  const call = (f: unknown, args: unknown) => {
    if (!(f instanceof PickleGlobal) || !Object.hasOwn(CALLABLES, f.qualifiedName)) {
      throw fail(`pickle calls something that is not an allowed function (${describe(f)})`);
    }
    if (!Array.isArray(args)) throw fail(`arguments to ${f.qualifiedName} are not a tuple`);
    return nest(
      CALLABLES[f.qualifiedName](args, (why) => fail(`${f.qualifiedName}: ${why}`), ctx),
      args,
    );
  };
  const persistentLoad = (pid: unknown) => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length !== 5) {
      throw fail(`unsupported persistent id (${describe(pid)})`);
    }
    const [, type, key, , count] = pid;
    if (
      !(type instanceof PickleGlobal) ||
      !Object.hasOwn(STORAGE_DTYPES, type.name) ||
      type.module !== "torch"
    ) {
      throw fail(`persistent id names an unknown storage type ${describe(type)}`);
    }
    if (typeof key !== "string" || typeof count !== "number") throw fail("malformed storage persistent id");
    if (!opts.loadStorage) throw fail("pickle refers to tensor storages but none were supplied");
    const storage: TorchStorage = {
      kind: "torch-storage",
      dtype: STORAGE_DTYPES[type.name],
      data: opts.loadStorage(key, STORAGE_DTYPES[type.name], count),
    };
    return storage;
  };

  for (;;) {
    opStart = pos;
    if (++ops > limits.maxPickleOps) throw fail(`pickle runs more than ${limits.maxPickleOps} opcodes`);
    const op = u8();
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol > 5) throw fail(`unsupported pickle protocol ${protocol}`);
        break;
      }
      case 0x95: // FRAME: a length prefix for buffered reading; the whole pickle is in memory already.
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLittleEndian(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(signedLittleEndian(take(i32())));
        break;
      case 0x47: {
        // BINFLOAT is big-endian, unlike every other number in a pickle.
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(utf8.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x74: {
        // TUPLE. (popMark replaces `stack`, so it must run before `stack.push` is looked up.)
        const items = popMark();
        stack.push(Object.freeze(nest(items, items)));
        break;
      }
      case 0x85: // TUPLE1
        {
          const t = [pop()];
          stack.push(Object.freeze(nest(t, t)));
        }
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const t = [pop(), b];
        stack.push(Object.freeze(nest(t, t)));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const t = [pop(), b, c];
        stack.push(Object.freeze(nest(t, t)));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(nest(items, items));
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        nest(asList(top(), fail), [value]).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        // One at a time: spreading a long list into push() overflows the call stack.
        const items = popMark();
        const list = nest(asList(top(), fail), items);
        for (const item of items) list.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = nest(new Map<unknown, unknown>(), items);
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        nest(asDict(top(), fail), [key, value]).set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = nest(asDict(top(), fail), items);
        if (items.length % 2 !== 0) throw fail("SETITEMS with an odd number of items");
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw fail("ADDITEMS on something that is not a set");
        nest(s, items);
        for (const item of items) s.add(item);
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = popMark();
        stack.push(nest(new Set(items), items));
        break;
      }
      case 0x71: // BINPUT
        remember(u8());
        break;
      case 0x72: // LONG_BINPUT
        remember(u32());
        break;
      case 0x94: // MEMOIZE
        remember(memo.size);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = op === 0x68 ? u8() : u32();
        if (!memo.has(index)) throw fail(`pickle reads memo entry ${index} that was never stored`);
        stack.push(memo.get(index));
        break;
      }
      case 0x63: {
        // GLOBAL: "module\nname\n". Checked here, before anything can call it.
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw fail("STACK_GLOBAL on non-strings");
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const f = pop();
        stack.push(call(f, args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX: keyword arguments are not used by any allowed class.
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) throw fail("NEWOBJ_EX with keyword arguments");
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: inst.__setstate__(state) or inst.__dict__.update(state)
        const state = pop();
        build(nest(top(), [state]), state, fail);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      default: {
        const char = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : "";
        throw fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}${char}`);
      }
    }
  }
}

function asList(v: unknown, fail: (why: string) => Error): unknown[] {
  if (!Array.isArray(v) || Object.isFrozen(v)) throw fail("APPEND on something that is not a list");
  return v;
}

function asDict(v: unknown, fail: (why: string) => Error): Map<unknown, unknown> {
  if (!(v instanceof Map)) throw fail("SETITEM on something that is not a dict");
  return v;
}

function build(inst: unknown, state: unknown, fail: (why: string) => Error): void {
  // A state dict's OrderedDict carries `_metadata` (per-module version numbers), which nothing here needs.
  if (inst instanceof Map) return;
  if (inst instanceof PyObject) {
    const dict = Array.isArray(state) ? state[0] : state;
    if (!(dict instanceof Map)) throw fail(`BUILD state for ${inst.type} is not a dict`);
    for (const [k, v] of dict) if (typeof k === "string") inst.fields[k] = v;
    return;
  }
  throw fail(`BUILD on an unsupported object (${describe(inst)})`);
}

function describe(v: unknown): string {
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (v === null) return "None";
  if (Array.isArray(v)) return `tuple of ${v.length}`;
  if (v instanceof Map) return "dict";
  return typeof v;
}
