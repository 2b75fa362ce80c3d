// The demo page. `convnext/browser` resolves to the sources, so the page needs no build of the package first.
// COOP/COEP make the page cross-origin isolated: SharedArrayBuffer, hence WASM threads.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  resolve: {
    alias: { "convnext/browser": fileURLToPath(new URL("../src/browser.ts", import.meta.url)) },
  },
  // Pre-bundling would move onnxruntime-web away from its wasm file in the dev server.
  optimizeDeps: { exclude: ["onnxruntime-web"] },
  server: { headers: ISOLATION_HEADERS, host: "127.0.0.1" },
  preview: { headers: ISOLATION_HEADERS, host: "127.0.0.1" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // onnxruntime-web starts its WASM threads as workers from its chunk, which imports bundler helpers from the
    // page's chunks: those must run in a worker, and the modulepreload polyfill touches the document.
    modulePreload: { polyfill: false },
  },
  worker: { format: "es" },
});
