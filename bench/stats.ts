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
 * Times two functions alternately (a, b, a, b, …) so that load from other processes on a shared machine
 * falls on both alike; returns both medians.
 */
export async function compareMs(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  repeats = 7,
  warmup = 2,
): Promise<[Timing, Timing]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  for (let i = 0; i < repeats; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      wall[k].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }
  return [summarise(wall[0], cpu[0]), summarise(wall[1], cpu[1])];
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
