/**
 * Sessions on onnxruntime-web, for browsers. WASM by default; WebGPU when asked for and the browser offers an
 * adapter. Only the build a backend needs is loaded: `onnxruntime-web/wasm` (a 14 MB wasm), or the WebGPU build
 * (a 28 MB JSEP wasm) only when WebGPU is chosen.
 *
 * Where the wasm comes from: onnxruntime-web's bundle builds look for `ort-wasm-simd-threaded.wasm` with
 * `new URL("ort-wasm-simd-threaded.wasm", import.meta.url)`. Vite understands that pattern and emits the file;
 * esbuild does not, so an esbuild app copies the wasm beside its bundle or sets `wasmPaths`.
 *
 * Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`).
 */
import type { Env, InferenceSession } from "onnxruntime-common";
import { type OrtModule, Session, type SessionOptions } from "./session.ts";
import { checkThreads } from "./threads.ts";

export type WebBackend = "wasm" | "webgpu";

export interface WebRuntimeOptions {
  /** `wasm` (default), or `webgpu`, which falls back to wasm with a notice when the browser has no adapter. */
  backend?: WebBackend;
  /** WASM threads; default: up to 4 when the page is cross-origin isolated, else 1. */
  threads?: number;
  /** Folder URL (ending in `/`) holding onnxruntime-web's `.wasm`/`.mjs` files, or their URLs one by one. */
  wasmPaths?: string | { wasm?: string | URL; mjs?: string | URL };
  /** Where one-line notices go (the WebGPU fallback); default console.warn. */
  notice?: (message: string) => void;
}

/** What a page runs on, once the first session exists. */
export interface WebRuntimeInfo {
  backend: WebBackend;
  threads: number;
  crossOriginIsolated: boolean;
}

type OrtWeb = typeof import("onnxruntime-web/wasm");

let settings: WebRuntimeOptions = {};
let chosen: Promise<{ ort: OrtWeb; info: WebRuntimeInfo }> | undefined;

/**
 * Sets the backend, threads and wasm location. onnxruntime-web reads them once, when its first session starts,
 * so call this before creating any session or classifier.
 */
export function configureWebRuntime(options: WebRuntimeOptions): void {
  if (chosen) throw new Error("configureWebRuntime must run before the first session is created");
  checkThreads(options.threads, globalThis.navigator?.hardwareConcurrency ?? 1);
  settings = { ...settings, ...options };
}

/** The backend and threads in use (starting the runtime if no session has yet). */
export async function webRuntimeInfo(): Promise<WebRuntimeInfo> {
  return (await runtime()).info;
}

export async function createSession(
  model: Uint8Array,
  opts: SessionOptions & Pick<WebRuntimeOptions, "backend"> = {},
): Promise<Session> {
  // The first session may choose the backend and threads; onnxruntime-web keeps them for the page.
  if (!chosen && (opts.backend !== undefined || opts.threads !== undefined))
    configureWebRuntime({
      backend: opts.backend ?? settings.backend,
      threads: opts.threads ?? settings.threads,
    });
  const { ort, info } = await runtime();
  try {
    // onnxruntime-web sizes its thread pool from env.wasm.numThreads; intra-op threads are for the Node door.
    return await Session.create(withProviders(ort, [info.backend]), model, {
      ...opts,
      threads: info.threads,
    });
  } catch (e) {
    throw new Error(explain(e));
  }
}

function runtime(): Promise<{ ort: OrtWeb; info: WebRuntimeInfo }> {
  chosen ??= start(settings);
  return chosen;
}

async function start(s: WebRuntimeOptions): Promise<{ ort: OrtWeb; info: WebRuntimeInfo }> {
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  const threads = isolated ? Math.max(1, s.threads ?? Math.min(4, cores)) : 1;
  let backend: WebBackend = "wasm";
  if (s.backend === "webgpu") {
    if (await hasWebGpuAdapter()) backend = "webgpu";
    else (s.notice ?? console.warn)("WebGPU is not available in this browser: running on WASM");
  }
  // Dynamic imports keep onnxruntime-web in a chunk of its own: its WASM threads start as workers from that
  // chunk's URL, and must not run the page's own code.
  const ort: OrtWeb =
    backend === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web/wasm");
  configureEnv(ort.env, s, threads);
  return { ort, info: { backend, threads, crossOriginIsolated: isolated } };
}

function configureEnv(env: Env, s: WebRuntimeOptions, threads: number): void {
  env.wasm.numThreads = threads;
  env.logLevel = "error";
  if (s.wasmPaths !== undefined) {
    env.wasm.wasmPaths =
      typeof s.wasmPaths === "string"
        ? s.wasmPaths
        : { wasm: s.wasmPaths.wasm?.toString(), mjs: s.wasmPaths.mjs?.toString() };
  }
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/** The module with every session asked to run on `providers`. */
function withProviders(ort: OrtWeb, providers: string[]): OrtModule {
  return {
    Tensor: ort.Tensor as unknown as OrtModule["Tensor"],
    InferenceSession: {
      create: (model: Uint8Array, options?: InferenceSession.SessionOptions) =>
        ort.InferenceSession.create(model, { ...options, executionProviders: providers }),
    },
  };
}

/** onnxruntime-web's message when it cannot fetch its wasm names no file: say which and what to do. */
function explain(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!/no available backend|failed to fetch|fetching of the wasm/i.test(message)) return message;
  return (
    `onnxruntime-web could not start (${message.split("\n")[0]}): serve ort-wasm-simd-threaded.wasm from ` +
    "node_modules/onnxruntime-web/dist beside your bundle, or point configureWebRuntime({ wasmPaths }) at it " +
    "(a folder holds ort-wasm-simd-threaded.mjs too)"
  );
}
