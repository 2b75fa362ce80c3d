/**
 * A fuzz campaign: mutants of each target's seeds, each opened in the watched worker, each outcome classified:
 * - accepted: the file loaded (a mutation may leave a valid file);
 * - clean error: an Error whose message is one line and names the case's file;
 * - crash: the worker died, or the error was an engine error (TypeError, RangeError…), several lines, or
 *   named no file;
 * - hang: no answer within the time limit;
 * - blow-up: resident memory over the limit, or V8's heap exhausted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mutant } from "./mutate.ts";
import { readSeeds, TARGETS } from "./targets.ts";
import { type Outcome, type WatchLimits, WatchedChild } from "./watched-child.ts";

export const KINDS = ["accepted", "clean error", "crash", "hang", "blow-up"] as const;
export type Kind = (typeof KINDS)[number];

export interface Finding {
  target: string;
  index: number;
  how: string;
  kind: Kind;
  detail: string;
}

export interface TargetResult {
  target: string;
  cases: number;
  counts: Record<Kind, number>;
  peakRss: number;
  findings: Finding[];
}

export interface CampaignOptions extends WatchLimits {
  targets: string[];
  seed: number;
  /** Run exactly this many cases per target (deterministic), or… */
  cases?: number;
  /** …as many as fit in this many seconds per target. */
  seconds?: number;
  onCase?: (target: string, index: number, kind: Kind) => void;
}

const ENGINE_ERRORS = new Set(["TypeError", "RangeError", "ReferenceError", "SyntaxError", "InternalError"]);

function classify(outcome: Outcome, caseDir: string): { kind: Kind; detail: string } {
  if (outcome.kind === "hang") {
    return { kind: "hang", detail: `no answer in time, after ${outcome.cpuSeconds.toFixed(1)} s of CPU` };
  }
  if (outcome.kind !== "done") return { kind: outcome.kind, detail: outcome.why };
  const { reply } = outcome;
  if (reply.ok) return { kind: "accepted", detail: "" };
  const oneLine = !reply.message.includes("\n");
  const named = reply.message.includes(caseDir);
  if (oneLine && named && !ENGINE_ERRORS.has(reply.name))
    return { kind: "clean error", detail: reply.message };
  return { kind: "crash", detail: `${reply.name}: ${reply.message.split("\n")[0].slice(0, 300)}` };
}

export async function runCampaign(opts: CampaignOptions): Promise<TargetResult[]> {
  const child = new WatchedChild(opts);
  const root = mkdtempSync(join(tmpdir(), "convnext-fuzz-"));
  const results: TargetResult[] = [];
  try {
    for (const name of opts.targets) {
      const target = TARGETS[name];
      if (!target)
        throw new Error(`unknown fuzz target ${name} (targets: ${Object.keys(TARGETS).join(", ")})`);
      const seeds = readSeeds(target);
      const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
      const result: TargetResult = { target: name, cases: 0, counts, peakRss: 0, findings: [] };
      const until = opts.seconds === undefined ? Infinity : Date.now() + opts.seconds * 1000;
      for (let i = 0; (opts.cases === undefined || i < opts.cases) && Date.now() < until; i++) {
        const m = mutant(seeds, opts.seed, i, name);
        const dir = join(root, `${name}-${i}`);
        const path = target.write(dir, m.bytes, m.seedIndex);
        const outcome = await child.run({ target: name, path });
        const { kind, detail } = classify(outcome, dir);
        result.cases++;
        result.counts[kind]++;
        result.peakRss = Math.max(result.peakRss, outcome.peakRss);
        if (kind !== "accepted" && kind !== "clean error") {
          result.findings.push({ target: name, index: i, how: m.how, kind, detail });
        }
        opts.onCase?.(name, i, kind);
        rmSync(dir, { recursive: true, force: true });
      }
      results.push(result);
    }
  } finally {
    child.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

/** The per-format table. */
export function formatTable(results: TargetResult[]): string {
  const head = ["target", "cases", ...KINDS, "peak RSS"];
  const rows = results.map((r) => [
    r.target,
    String(r.cases),
    ...KINDS.map((k) => String(r.counts[k])),
    `${Math.round(r.peakRss / 2 ** 20)} MB`,
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
