/** Timing helpers for benchmarks: medians of repeated runs, after warm-up. */

export interface Timing {
  median: number;
  min: number;
  runs: number[];
}

function summarise(runs: number[]): Timing {
  const sorted = [...runs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], runs };
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
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < repeats; i++) {
    for (const [fn, runs] of [
      [a, ra],
      [b, rb],
    ] as const) {
      const t0 = performance.now();
      await fn();
      runs.push(performance.now() - t0);
    }
  }
  return [summarise(ra), summarise(rb)];
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
