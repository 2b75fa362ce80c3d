// The `convnext` command from the TypeScript sources, so CLI tests need no build (bin/ runs the compiled dist/;
// test/package/consumer.test.ts covers that form).
import { main } from "../../src/cli/main.ts";

await main(process.argv);
