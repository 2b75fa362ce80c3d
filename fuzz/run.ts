/**
 * `npm run fuzz -- <target|all> [--seconds N] [--cases N] [--seed N] [--timeout S] [--max-rss MB] [--json]`
 * Mutates the fixtures of each target and reports, per format, how every case ended (see campaign.ts).
 * Targets: safetensors, pth, hf-config, image. Exit code 1 when any case crashed, hung or blew up.
 */
import { parseArgs } from "node:util";
import { formatTable, runCampaign } from "./campaign.ts";
import { TARGETS } from "./targets.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string" },
    cases: { type: "string" },
    seed: { type: "string", default: "1" },
    timeout: { type: "string", default: "20" },
    "max-rss": { type: "string", default: "1536" },
    json: { type: "boolean", default: false },
  },
});

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${text}`);
  return n;
}

const which = positionals[0] ?? "all";
const targets = which === "all" ? Object.keys(TARGETS) : which.split(",");
const cases = positive("cases", values.cases);
const seconds = positive("seconds", values.seconds) ?? (cases === undefined ? 60 : undefined);
const results = await runCampaign({
  targets,
  seed: positive("seed", values.seed)!,
  cases,
  seconds,
  timeoutMs: positive("timeout", values.timeout)! * 1000,
  maxRssBytes: positive("max-rss", values["max-rss"])! * 2 ** 20,
  heapMb: 1024,
  onCase: (_, i, kind) => {
    if (kind !== "accepted" && kind !== "clean error") process.stderr.write(`case ${i}: ${kind}\n`);
  },
});
if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  console.log(formatTable(results));
  for (const f of results.flatMap((r) => r.findings).slice(0, 40)) {
    console.log(`${f.target} #${f.index} ${f.kind}: ${f.how} -> ${f.detail}`);
  }
}
process.exitCode = results.some((r) => r.findings.length > 0) ? 1 : 0;
