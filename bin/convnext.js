#!/usr/bin/env node
// The `convnext` command: the compiled CLI in dist/ (`npm run build`; `npm ci` and `npm pack` build it).
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/main.js", import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (e) {
  // A checkout whose dist/ was never built: say how to build it rather than print a resolver stack.
  const path = fileURLToPath(entry);
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes(path)) throw e;
  process.stderr.write(
    `convnext: ${path} is missing: run \`npm run build\` in ${fileURLToPath(new URL("..", import.meta.url))}\n`,
  );
  process.exit(1);
}
await cli.main(process.argv);
