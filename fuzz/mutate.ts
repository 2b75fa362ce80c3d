/**
 * Seeded mutations of a seed file: bit flips, byte stores, truncation, splices, chunk deletion and insertion,
 * and edits of integer fields (the sizes and counts formats trust) to boundary values. JSON seeds also get
 * structural edits: a value replaced by an extreme one, deep nesting, a long list; the formats with a
 * structure get the edits in structured.ts. The same seed and the same inputs always give the same cases.
 */
import { rng } from "./rng.ts";
import { structured } from "./structured.ts";

export interface Mutant {
  bytes: Uint8Array;
  /** Which seed it came from. */
  seedIndex: number;
  /** What was done, to reproduce and report a finding. */
  how: string;
}

const BOUNDARY = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 2 ** 32, 2 ** 53 - 1];

function writeLe(bytes: Uint8Array, at: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Offsets where formats keep their sizes: the start (headers) and the end (zip directories). */
function fieldOffset(r: () => number, length: number): number {
  const near = Math.min(length, 512);
  const base = r() < 0.5 ? 0 : Math.max(0, length - near);
  return base + Math.floor(r() * near);
}

import type { Edit } from "./structured.ts";
type ByteMutation = (b: Uint8Array, r: () => number, other: Uint8Array) => Edit;
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

const BYTE_MUTATIONS: ByteMutation[] = [
  (b, r) => {
    const out = b.slice();
    const n = 1 + Math.floor(r() * 8);
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const bit = Math.floor(r() * out.length * 8);
      out[bit >> 3] ^= 1 << (bit & 7);
      at.push(bit);
    }
    return { bytes: out, how: `flip bits ${at.join(",")}` };
  },
  (b, r) => {
    const out = b.slice();
    const at = fieldOffset(r, out.length);
    const width = pick(r, [1, 2, 4, 8]);
    const value = r() < 0.2 ? b.length * (1 + Math.floor(r() * 4)) : pick(r, BOUNDARY);
    writeLe(out, at, width, value);
    return { bytes: out, how: `set ${width}-byte field at ${at} to ${value}` };
  },
  (b, r) => {
    const cut = Math.floor(r() * b.length);
    return { bytes: b.slice(0, cut), how: `truncate to ${cut}` };
  },
  (b, r, other) => {
    const at = Math.floor(r() * b.length);
    const from = Math.floor(r() * other.length);
    const n = Math.min(1 + Math.floor(r() * 4096), other.length - from);
    const out = b.slice();
    out.set(other.subarray(from, from + Math.min(n, out.length - at)), at);
    return { bytes: out, how: `splice ${n} bytes from ${from} of another seed at ${at}` };
  },
  (b, r) => {
    const n = Math.min(b.length, 1 + Math.floor(r() * 1024));
    const at = Math.floor(r() * (b.length - n + 1));
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return { bytes: out, how: `delete ${n} bytes at ${at}` };
  },
  (b, r) => {
    const at = Math.floor(r() * b.length);
    const chunk = b.subarray(Math.floor(r() * b.length)).subarray(0, 1 + Math.floor(r() * 1024));
    const out = new Uint8Array(b.length + chunk.length);
    out.set(b.subarray(0, at));
    out.set(chunk, at);
    out.set(b.subarray(at), at + chunk.length);
    return { bytes: out, how: `insert ${chunk.length} bytes at ${at}` };
  },
];

const HOSTILE_JSON: [string, () => unknown][] = [
  ["-1", () => -1],
  ["0", () => 0],
  ["1e308", () => 1e308],
  ["1e12", () => 1e12],
  ["0.5", () => 0.5],
  ['"7"', () => "7"],
  ["null", () => null],
  ["{}", () => ({})],
  ["deep nesting", () => DEEP],
  ["a long list", () => new Array(200_000).fill(1)],
  ["[0]", () => [0]],
  ["[1e9, 1e9]", () => [1e9, 1e9]],
];

// Too deep for JSON.stringify to write: a placeholder, spliced in as text.
const DEEP = "\u0000deep\u0000";
const DEEP_TEXT = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;

/** Replaces one value somewhere in a JSON document by a hostile one. */
function mutateJson(b: Uint8Array, r: () => number): Edit | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(b));
  } catch {
    return undefined;
  }
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (path.length > 0) paths.push(path);
    if (typeof v === "object" && v !== null && path.length < 3) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, Array.isArray(v) ? Number(k) : k]);
    }
  };
  walk(doc, []);
  if (paths.length === 0) return undefined;
  const path = pick(r, paths);
  const [label, value] = pick(r, HOSTILE_JSON);
  let parent = doc as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]] = value();
  const text = JSON.stringify(doc).replace(JSON.stringify(DEEP), DEEP_TEXT);
  return { bytes: new TextEncoder().encode(text), how: `set ${path.join(".")} to ${label}` };
}

/** The `index`-th case of a campaign over `seeds`: a deterministic function of (seed, index). */
export function mutant(seeds: readonly Uint8Array[], seed: number, index: number, target: string): Mutant {
  const r = rng(seed * 1_000_003 + index);
  const s = Math.floor(r() * seeds.length);
  const base = seeds[s];
  const other = seeds[Math.floor(r() * seeds.length)];
  if (r() < 0.4) {
    const m = structured(target, base, Math.floor(r() * 2 ** 32));
    if (m) return { ...m, seedIndex: s, how: `seed ${s}: ${m.how}` };
  }
  if (target === "hf-config" && r() < 0.6) {
    const m = mutateJson(base, r);
    if (m) return { ...m, seedIndex: s, how: `seed ${s}: ${m.how}` };
  }
  let m = pick(r, BYTE_MUTATIONS)(base, r, other);
  // Now and then stack a second mutation, to reach states one edit cannot.
  if (r() < 0.25) {
    const second = pick(r, BYTE_MUTATIONS)(m.bytes.length > 0 ? m.bytes : base, r, other);
    m = { bytes: second.bytes, how: `${m.how}; ${second.how}` };
  }
  return { ...m, seedIndex: s, how: `seed ${s}: ${m.how}` };
}
