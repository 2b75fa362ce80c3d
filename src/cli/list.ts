/** `convnext list`: the pretrained weights that `--model <arch.tag>` accepts, with source, licence and top-1. */
import type { Command } from "commander";
import { pretrainedCatalog } from "../pretrained/catalog.ts";
import { printJson } from "./output.ts";

export function register(program: Command): void {
  program
    .command("list")
    .description(
      "pretrained weights by name (arch.tag): source, licence, classes, input size, published top-1",
    )
    .option(
      "--json",
      "one JSON line per entry: {name, source, license, labels, numClasses, inputSize, top1?}",
    )
    .action((opts: { json?: boolean }) => {
      const rows = pretrainedCatalog();
      if (opts.json) {
        for (const r of rows) printJson(r);
        return;
      }
      const cells = rows.map((r) => [
        r.name,
        r.source,
        r.license,
        String(r.numClasses),
        typeof r.inputSize === "number" ? String(r.inputSize) : r.inputSize.join("x"),
        r.top1 === undefined ? "-" : r.top1.toFixed(1),
      ]);
      const header = ["name", "source", "licence", "classes", "input", "top-1 %"];
      const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
      const line = (c: string[]) =>
        c
          .map((v, i) => v.padEnd(widths[i]))
          .join("  ")
          .trimEnd();
      process.stdout.write(`${[header, ...cells].map(line).join("\n")}\n`);
    });
}
