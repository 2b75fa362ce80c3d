/** Timing helpers for benchmarks: medians of repeated runs, after warm-up. */

export interface Timing {
  median: number;
  min: number;
  runs: number[];
  /** Median process CPU time per run (ms): less sensitive than wall time to other load on a shared machine. */
  cpuMedian: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function summarise(runs: number[], cpu: number[] = []): Timing {
  return {
    median: median(runs),
    min: Math.min(...runs),
    runs,
    cpuMedian: cpu.length ? median(cpu) : Number.NaN,
  };
}

export async function medianMs(fn: () => Promise<unknown>, repeats = 7, warmup = 2): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return summarise(runs);
}

/**
 * Times functions in turn (a, b, …, a, b, …) so that load from other processes on a shared machine falls on
 * all alike; returns each one's medians.
 */
export async function compareMs(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  repeats = 7,
  warmup = 2,
): Promise<[Timing, Timing]> {
  const [ta, tb] = await compareAllMs([a, b], repeats, warmup);
  return [ta, tb];
}

export async function compareAllMs(
  fns: (() => Promise<unknown>)[],
  repeats = 7,
  warmup = 2,
): Promise<Timing[]> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const wall: number[][] = fns.map(() => []);
  const cpu: number[][] = fns.map(() => []);
  for (let i = 0; i < repeats; i++) {
    for (const [k, fn] of fns.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      wall[k].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }
  return wall.map((w, k) => summarise(w, cpu[k]));
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
