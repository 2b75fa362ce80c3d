/**
 * Starts a worker thread on a module of this package. From the TypeScript sources (run through tsx) the worker
 * does not inherit tsx's loader hooks, so it registers them before importing the entry.
 */
import { Worker } from "node:worker_threads";

export function spawnWorker(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
