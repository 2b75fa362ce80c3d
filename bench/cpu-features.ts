/**
 * Which int8 dot product this CPU gives onnxruntime's MLAS, for reading the int8 rows of a benchmark: with VNNI
 * (avx512_vnni, avx_vnni) u8 × s8 is one VPDPBUSD into int32, four products per lane; without it (AVX2) it is
 * VPMADDUBSW into int16 and a second instruction to widen, about half the rate. Linux only; elsewhere "unknown".
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface CpuFeatures {
  model: string;
  /** The x86 SIMD extensions that decide MLAS's kernels, as /proc/cpuinfo names them. */
  simd: string[];
  int8Path: "VNNI (VPDPBUSD)" | "AVX2 (VPMADDUBSW)" | "unknown";
}

const SIMD_FLAGS = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8"];

export function cpuFeatures(): CpuFeatures {
  const model = cpus()[0]?.model ?? "unknown";
  let flags: Set<string>;
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
    flags = new Set(line.trim().split(/\s+/));
  } catch {
    return { model, simd: [], int8Path: "unknown" };
  }
  const simd = SIMD_FLAGS.filter((f) => flags.has(f));
  const vnni = flags.has("avx512_vnni") || flags.has("avx_vnni");
  return {
    model,
    simd,
    int8Path: vnni ? "VNNI (VPDPBUSD)" : flags.has("avx2") ? "AVX2 (VPMADDUBSW)" : "unknown",
  };
}
