#!/usr/bin/env node
// The `convnext` command: the compiled CLI in dist/ (`npm run build`; `npm ci` and `npm pack` build it).
import { main } from "../dist/cli/main.js";

await main(process.argv);
