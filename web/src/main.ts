// The page's entry. onnxruntime-web starts its WASM threads as workers from its own chunk, and that chunk imports
// bundler helpers from this entry chunk: so this file must do nothing in a worker, and loads the page lazily.
if (typeof document !== "undefined") void import("./page.ts").then((page) => page.start());
