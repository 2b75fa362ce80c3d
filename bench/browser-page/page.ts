import { configureWebRuntime, createSession } from "../../src/browser.ts";
import { type BrowserBenchCase, measure } from "../browser-work.ts";

/** Sets the threads asked for in the address and exposes window.bench. */
export function start(): void {
  const threads = Number(new URLSearchParams(location.search).get("threads") ?? "1");
  configureWebRuntime({ threads });
  (window as unknown as { bench: unknown }).bench = bench;
}

async function bench(cases: (BrowserBenchCase & { url?: string })[]) {
  const out = [];
  for (const c of cases) {
    const weights = c.url ? new Uint8Array(await (await fetch(c.url)).arrayBuffer()) : undefined;
    out.push(await measure({ ...c, weights }, (onnx) => createSession(onnx, { spinning: false })));
  }
  return out;
}
