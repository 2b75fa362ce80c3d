/**
 * Starts a worker thread on a module of this package. From the TypeScript sources (run through tsx) the worker
 * does not inherit tsx's loader hooks, so it registers them before importing the entry.
 */
import { Worker } from "node:worker_threads";

/**
 * The URL of a module beside `base` (an `import.meta.url`), in the form this code runs as: `.ts` from the sources
 * (tests, tsx), `.js` once compiled into dist/. A bare `new URL("./x.ts", …)` is not rewritten by tsc.
 */
export function siblingModule(relativeStem: string, base: string): URL {
  return new URL(`${relativeStem}${base.endsWith(".ts") ? ".ts" : ".js"}`, base);
}

/** `transferList`: buffers inside `workerData` that move to the worker instead of being copied. */
export function spawnWorker(entry: URL, workerData: unknown, transferList: ArrayBuffer[] = []): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData, transferList });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData, transferList });
}
