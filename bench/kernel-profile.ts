/**
 * onnxruntime's own profiler around a session: the kernel events of each timed run, after warm-up runs whose
 * events are dropped (bench/inference-profile.ts, bench/step-profile.ts, bench/gemm-rates.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSession } from "../src/runtime/session-node.ts";
import type { HostTensor } from "../src/tensor/host-tensor.ts";

export interface KernelEvent {
  /** Node name with onnxruntime's `_kernel_time` suffix removed. */
  node: string;
  op: string;
  ms: number;
  /** Input shapes as onnxruntime reports them (a prepacked weight by its first dimension only). */
  inputShapes: number[][];
}

interface RawEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[] };
}

/** Runs `model` warmUp + runs times on `feeds`; returns the kernel events of each of the last `runs` runs. */
export async function profileRuns(
  model: Uint8Array,
  feeds: Record<string, HostTensor>,
  opts: { threads: number; runs: number; warmUp?: number },
): Promise<{ events: KernelEvent[][]; wallMs: number[] }> {
  // Three, not one: a training step's second run still grew the arena and took ~4x a steady one (1.9 s against
  // ~0.45 s for convnext_atto 128² b32), which inflated every kernel of the first profiled run.
  const warmUp = opts.warmUp ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "convnext-profile-"));
  try {
    const session = await createSession(model, {
      threads: opts.threads,
      spinning: false,
      profilePrefix: join(dir, "p"),
    });
    const wallMs: number[] = [];
    for (let i = 0; i < warmUp + opts.runs; i++) {
      const start = performance.now();
      await session.run(feeds);
      if (i >= warmUp) wallMs.push(performance.now() - start);
    }
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith(".json"));
    const raw = JSON.parse(readFileSync(join(dir, file!), "utf8")) as RawEvent[];
    const kernels = raw
      .filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"))
      .map((e) => ({
        node: e.name.replace(/_kernel_time$/, ""),
        op: e.args?.op_name ?? "?",
        ms: e.dur / 1000,
        inputShapes: (e.args?.input_type_shape ?? []).map((s) => Object.values(s)[0]),
      }));
    // Every run executes the same kernels, so the events split evenly by run.
    const perRun = kernels.length / (warmUp + opts.runs);
    const events = Array.from({ length: opts.runs }, (_, r) =>
      kernels.slice((warmUp + r) * perRun, (warmUp + r + 1) * perRun),
    );
    return { events, wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
