/**
 * Format-aware mutations: the edits blind byte flips almost never make but a hostile file is built from, each
 * leaving the rest of the file valid so the case gets past the outer checks (checksums recomputed, archives
 * re-packed) and reaches the parser behind them: pickle integers set to boundary values and hostile pickle
 * fragments spliced in, deflated or zip64-claiming archives, safetensors headers with hostile values, image
 * headers with extreme dimensions, and SVG content.
 */
import { crc32 } from "node:zlib";
import { unzipSync, zipSync } from "fflate";
import { rng } from "./rng.ts";

export type Edit = { bytes: Uint8Array; how: string };
type Structured = (b: Uint8Array, r: () => number) => Edit | undefined;

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function le(value: number, width: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
  return b.subarray(0, width);
}

/** Pickle fragments that push one value and pop it again, spliced in before STOP. */
const FRAGMENTS: [string, () => Uint8Array][] = [
  [
    "200,000 nested tuples",
    () => concat(Uint8Array.of(0x4e), new Uint8Array(200_000).fill(0x85), Uint8Array.of(0x30)),
  ],
  [
    "a 300 kB LONG4",
    () =>
      concat(Uint8Array.of(0x8b), le(300_000, 4), new Uint8Array(300_000).fill(0x5a), Uint8Array.of(0x30)),
  ],
  [
    "a list of 1,000,000 items",
    () => concat(Uint8Array.of(0x5d, 0x28), new Uint8Array(1_000_000).fill(0x4e), Uint8Array.of(0x65, 0x30)),
  ],
  [
    "2,000,000 memo entries",
    () => concat(Uint8Array.of(0x4e), new Uint8Array(2_000_000).fill(0x94), Uint8Array.of(0x30)),
  ],
];

const INT_VALUES = [0, 1, 2 ** 29, 2 ** 31 - 1, -1];

/** Sets one BININT/BININT1/BININT2 of a pickle to a boundary value of the same width. */
function editPickleInt(pkl: Uint8Array, r: () => number): Edit | undefined {
  const ints: number[] = [];
  for (let i = 0; i < pkl.length; i++)
    if (pkl[i] === 0x4a || pkl[i] === 0x4b || pkl[i] === 0x4d) ints.push(i);
  if (ints.length === 0) return undefined;
  const at = pick(r, ints);
  const out = pkl.slice();
  const value = pick(r, INT_VALUES);
  const width = out[at] === 0x4a ? 4 : out[at] === 0x4d ? 2 : 1;
  out.set(le(value >>> 0, width), at + 1);
  return { bytes: out, how: `pickle int at ${at} set to ${value}` };
}

function spliceFragment(pkl: Uint8Array, r: () => number): Edit {
  const [label, make] = pick(r, FRAGMENTS);
  const stop = pkl.lastIndexOf(0x2e);
  return { bytes: concat(pkl.subarray(0, stop), make(), pkl.subarray(stop)), how: `pickle gets ${label}` };
}

/** A zip64 end record and locator claiming 2^32-1 entries, in front of the archive's end record. */
function claimZip64Entries(zip: Uint8Array): Uint8Array {
  const eocd = zip.length - 22;
  const view = new DataView(zip.buffer, zip.byteOffset);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  const many = 2 ** 32 - 1;
  const record = concat(
    le(0x06064b50, 4),
    le(44, 8),
    le(45, 2),
    le(45, 2),
    le(0, 8),
    le(many, 8),
    le(many, 8),
    le(cdSize, 8),
    le(cdOffset, 8),
  );
  const locator = concat(le(0x07064b50, 4), le(0, 4), le(eocd, 8), le(1, 4));
  const end = zip.slice(eocd);
  end.set(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 8);
  return concat(zip.subarray(0, eocd), record, locator, end);
}

const PTH: Structured = (b, r) => {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(b);
  } catch {
    return undefined;
  }
  const pklName = Object.keys(files).find((n) => n.endsWith("/data.pkl"));
  if (!pklName) return undefined;
  const choice = r();
  if (choice < 0.1) return { bytes: claimZip64Entries(b), how: "zip64 record claims 2^32-1 entries" };
  if (choice < 0.2) return { bytes: zipSync(files, { level: 6 }), how: "entries deflated" };
  const edit = choice < 0.4 ? spliceFragment(files[pklName], r) : editPickleInt(files[pklName], r);
  if (!edit) return undefined;
  // Re-packed so every CRC is right again: the edit reaches the unpickler.
  return { bytes: zipSync({ ...files, [pklName]: edit.bytes }, { level: 0 }), how: edit.how };
};

const HOSTILE_HEADER_VALUES: unknown[] = [[2 ** 29], [0], [-1], [1e300], "F32", [0, 2 ** 53], [], { a: 1 }];

const SAFETENSORS: Structured = (b, r) => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 8) return undefined;
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > b.length) return undefined;
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<
    string,
    Record<string, unknown>
  >;
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = pick(r, names);
  const field = pick(r, ["shape", "data_offsets", "dtype"]);
  const value = pick(r, HOSTILE_HEADER_VALUES);
  header[name][field] = value;
  const json = new TextEncoder().encode(JSON.stringify(header));
  return {
    bytes: concat(le(json.length, 8), json, b.subarray(8 + n)),
    how: `header ${name}.${field} set to ${JSON.stringify(value)}`,
  };
};

const SVG_BLUR =
  '<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="3000"><filter id="f"><feGaussianBlur stdDeviation="900"/></filter><rect width="3000" height="3000" filter="url(#f)"/></svg>';
const DIMENSIONS: [number, number][] = [
  [1_000_000, 1],
  [1, 1_000_000],
  [65_535, 65_535],
  [9_000, 9_000],
  [0, 10],
  [2 ** 31 - 1, 2],
];

const IMAGE: Structured = (b, r) => {
  if (r() < 0.15) return { bytes: new TextEncoder().encode(SVG_BLUR), how: "an SVG blur filter" };
  const [w, h] = pick(r, DIMENSIONS);
  const out = b.slice();
  const view = new DataView(out.buffer);
  if (out[1] === 0x50 && out[2] === 0x4e && out[3] === 0x47) {
    // PNG IHDR: width and height big-endian at 16 and 20, the chunk's CRC after them.
    view.setUint32(16, w);
    view.setUint32(20, h);
    view.setUint32(29, crc32(out.subarray(12, 29)));
    return { bytes: out, how: `PNG header says ${w}x${h}` };
  }
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      view.setUint16(i + 5, Math.min(h, 0xffff));
      view.setUint16(i + 7, Math.min(w, 0xffff));
      return { bytes: out, how: `JPEG frame header says ${Math.min(w, 0xffff)}x${Math.min(h, 0xffff)}` };
    }
  }
  return undefined;
};

export const STRUCTURED: Record<string, Structured> = { pth: PTH, safetensors: SAFETENSORS, image: IMAGE };

/** A structured edit of `b` for `target`, seeded like the byte mutations. */
export function structured(target: string, b: Uint8Array, seed: number): Edit | undefined {
  const edit = STRUCTURED[target];
  return edit ? edit(b, rng(seed)) : undefined;
}
