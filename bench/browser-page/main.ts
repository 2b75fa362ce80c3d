// The benchmark page: window.bench(cases) times them on onnxruntime-web. Does nothing in a worker (see web/).
if (typeof document !== "undefined") void import("./page.ts").then((page) => page.start());
