// Assembles pickle programs and torch.save-style zip archives byte by byte, so tests can craft any (also hostile)
// checkpoint without Python. Opcode bytes from CPython's Lib/pickle.py.
import { zipSync } from "fflate";

const utf8 = new TextEncoder();

export const op = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  POP: 0x30,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  LIST: 0x6c,
  APPEND: 0x61,
  APPENDS: 0x65,
  DICT: 0x64,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  MEMOIZE: 0x94,
  REDUCE: 0x52,
  BUILD: 0x62,
  NEWOBJ: 0x81,
  STACK_GLOBAL: 0x93,
  BINPERSID: 0x51,
} as const;

/** Concatenates numbers (single bytes) and byte arrays. */
export function bytes(...parts: (number | Uint8Array | number[])[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "number" ? Uint8Array.of(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export const global = (module: string, name: string) => bytes(0x63, utf8.encode(`${module}\n${name}\n`));
export const str = (s: string) => {
  const b = utf8.encode(s);
  return b.length < 256 ? bytes(0x8c, b.length, b) : bytes(0x58, u32(b.length), b);
};
export const binunicode = (s: string) => {
  const b = utf8.encode(s);
  return bytes(0x58, u32(b.length), b);
};
export const int = (n: number) => {
  if (n >= 0 && n < 256) return bytes(0x4b, n);
  if (n >= 0 && n < 65536) return bytes(0x4d, n & 0xff, n >> 8);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return bytes(0x4a, b);
};
export const long1 = (v: bigint, size: number) => {
  const b = new Uint8Array(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return bytes(0x8a, size, b);
};
export const float = (x: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, false);
  return bytes(0x47, b);
};
export const binput = (i: number) => bytes(0x71, i);
export const binget = (i: number) => bytes(0x68, i);

/** `torch._utils._rebuild_tensor_v2(storage <key>, offset, size, stride, False, OrderedDict())`. */
export function tensorRef(
  storageType: string,
  key: string,
  storageNumel: number,
  offset: number,
  size: number[],
  stride: number[],
): Uint8Array {
  return bytes(
    global("torch._utils", "_rebuild_tensor_v2"),
    op.MARK,
    op.MARK,
    str("storage"),
    global("torch", storageType),
    str(key),
    str("cpu"),
    int(storageNumel),
    op.TUPLE,
    op.BINPERSID,
    int(offset),
    op.MARK,
    ...size.map(int),
    op.TUPLE,
    op.MARK,
    ...stride.map(int),
    op.TUPLE,
    op.NEWFALSE,
    global("collections", "OrderedDict"),
    op.EMPTY_TUPLE,
    op.REDUCE,
    op.TUPLE,
    op.REDUCE,
  );
}

/** A torch.save-style zip: `<stem>/data.pkl`, `<stem>/data/<key>`, `<stem>/byteorder`, stored uncompressed. */
export function pthArchive(
  stem: string,
  pickle: Uint8Array,
  storages: Record<string, Uint8Array> = {},
): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${stem}/data.pkl`]: pickle };
  files[`${stem}/byteorder`] = utf8.encode("little");
  for (const [key, data] of Object.entries(storages)) files[`${stem}/data/${key}`] = data;
  files[`${stem}/version`] = utf8.encode("3\n");
  return zipSync(files, { level: 0 });
}

/** The start of a legacy (pre-1.6) torch.save file: a protocol-2 pickle of torch's magic number 0x1950a86a20f9469cfc6c. */
export const LEGACY_TORCH_SAVE = bytes(op.PROTO, 2, long1(0x1950a86a20f9469cfc6cn, 10), op.STOP);
