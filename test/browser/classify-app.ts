// A page script that classifies one example (raw 28×28 RGB at /coat.rgb) with the bundled model (served at
// /model.safetensors), importing only `convnext/browser`; the outcome lands in window.result.

/** The script; `threads` pins the WASM thread count (a single-file esbuild bundle runs with one). */
export function classifyApp(threads?: number): string {
  const configure =
    threads === undefined
      ? ""
      : `import { configureWebRuntime } from "convnext/browser";\nconfigureWebRuntime({ threads: ${threads} });\n`;
  return `${configure}import { createWebClassifier } from "convnext/browser";

try {
  const weights = new Uint8Array(await (await fetch("/model.safetensors")).arrayBuffer());
  const image = new Uint8Array(await (await fetch("/coat.rgb")).arrayBuffer());
  const clf = await createWebClassifier({ weights });
  const [top] = await clf.classifyImages([{ data: image, width: 28, height: 28 }]);
  window.result = { top };
} catch (e) {
  window.result = { error: e.message };
}
`;
}
