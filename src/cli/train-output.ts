/** What a training run shows and writes as it goes: the progress display and the files in --out. */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { writeFileAtomic } from "../checkpoint/load-node.ts";
import { type Curves, curvesFromMetrics, curvesHtml, curvesSvg } from "../train/chart.ts";
import type { SkippedSample } from "../train/data/batch.ts";
import type { StepLog } from "../train/trainer.ts";
import { isQuiet, showProgress } from "./output.ts";

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export class Progress {
  private readonly multi?: cliProgress.MultiBar;
  private readonly bar?: cliProgress.SingleBar;
  private lastLine = 0;
  private readonly started = performance.now();
  private readonly startStep: number;

  constructor(
    private readonly total: number,
    startStep: number,
    private readonly epochs: number,
  ) {
    this.startStep = startStep;
    if (showProgress()) {
      this.multi = new cliProgress.MultiBar(
        {
          stream: process.stderr,
          format:
            "epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}",
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multi.create(total, startStep, { epoch: 1, epochs, loss: "-", acc: "-", ips: "-" });
    }
  }

  step(s: StepLog): void {
    const payload = {
      epoch: s.epoch + 1,
      epochs: this.epochs,
      loss: s.loss.toFixed(4),
      acc: `${(100 * s.accuracy).toFixed(1)}%`,
      ips: s.imagesPerSecond.toFixed(1),
    };
    if (this.bar) {
      this.bar.update(s.step, payload);
      return;
    }
    if (isQuiet()) return;
    const now = performance.now();
    if (s.step !== this.startStep + 1 && now - this.lastLine < 10_000 && s.step !== this.total) return;
    this.lastLine = now;
    const perStep = (now - this.started) / 1000 / (s.step - this.startStep);
    this.log(
      `step ${s.step}/${this.total} (epoch ${payload.epoch}/${this.epochs}) loss ${payload.loss} acc ${payload.acc} ` +
        `lr ${s.lr.toExponential(2)} | ${payload.ips} img/s | ETA ${duration(perStep * (this.total - s.step))}`,
    );
  }

  /** A progress line (epoch results, Ctrl-C); silent when quiet — metrics.jsonl has them all. */
  log(line: string): void {
    if (isQuiet()) return;
    if (this.multi) this.multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.multi?.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Output files

export class RunFiles {
  readonly checkpoint: string;
  readonly model: string;
  readonly metrics: string;
  private readonly records: unknown[] = [];
  private createdDir = false;

  constructor(readonly dir: string) {
    this.checkpoint = join(dir, "checkpoint.safetensors");
    this.model = join(dir, "model.safetensors");
    this.metrics = join(dir, "metrics.jsonl");
  }

  /** Every file a run writes into `dir`. */
  static outputs(dir: string): string[] {
    const f = new RunFiles(dir);
    return [f.checkpoint, f.model, f.metrics, join(dir, "curves.svg"), join(dir, "curves.html")];
  }

  /** Starts metrics.jsonl afresh, or (resuming) keeps the records up to the checkpoint's step. */
  open(resumeStep: number | null): void {
    this.createdDir = !existsSync(this.dir);
    mkdirSync(this.dir, { recursive: true });
    if (resumeStep === null || !existsSync(this.metrics)) {
      writeFileSync(this.metrics, "");
      return;
    }
    const kept: string[] = [];
    for (const line of readFileSync(this.metrics, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let r: { kind?: string; step?: number };
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a line cut short by a crash
      }
      // Steps after the checkpoint are about to be taken again.
      if ((r.kind === "step" || r.kind === "epoch") && (r.step ?? 0) > resumeStep) continue;
      kept.push(line);
      this.records.push(r);
    }
    writeFileSync(this.metrics, kept.map((l) => `${l}\n`).join(""));
  }

  /**
   * Removes what a fresh run wrote before it failed without a checkpoint (metrics, curves, and the directory
   * when this run created it and it is empty): a failed run leaves no half-written output.
   */
  discard(): void {
    for (const name of ["metrics.jsonl", "curves.svg", "curves.html"])
      rmSync(join(this.dir, name), { force: true });
    if (this.createdDir && readdirSync(this.dir).length === 0) rmdirSync(this.dir);
  }

  /** The records read back on resume (and appended since). */
  recordsOf(kind: string): Record<string, unknown>[] {
    return (this.records as Record<string, unknown>[]).filter((r) => r.kind === kind);
  }

  append(record: Record<string, unknown>): void {
    this.records.push(record);
    appendFileSync(this.metrics, `${JSON.stringify(record)}\n`);
  }

  /** Seconds of training recorded before a resume, so `seconds` keeps counting across runs. */
  secondsSoFar(): number {
    const timed = (this.records as { seconds?: number }[]).filter((r) => typeof r.seconds === "number");
    return timed.at(-1)?.seconds ?? 0;
  }

  curves(): Curves {
    return curvesFromMetrics(this.records);
  }

  /** Epoch means of the step records (they survive a resume through metrics.jsonl). */
  epochTrainStats(epoch: number): { loss: number; accuracy: number } {
    const mine = (
      this.records as { kind?: string; epoch?: number; loss?: number; accuracy?: number }[]
    ).filter((r) => r.kind === "step" && r.epoch === epoch);
    const mean = (key: "loss" | "accuracy") =>
      mine.reduce((a, r) => a + (r[key] ?? 0), 0) / (mine.length || 1);
    return { loss: mean("loss"), accuracy: mean("accuracy") };
  }

  async writeCharts(title: string, summary: string[], running: boolean): Promise<void> {
    const c = this.curves();
    const enc = new TextEncoder();
    await writeFileAtomic(join(this.dir, "curves.svg"), enc.encode(`${curvesSvg(c)}\n`));
    await writeFileAtomic(
      join(this.dir, "curves.html"),
      enc.encode(curvesHtml(c, { title, summary, refreshSeconds: running ? 30 : undefined })),
    );
  }
}

/**
 * The undecodable files a run met: each reported once (a stderr line and a `skipped` record in metrics.jsonl),
 * however many epochs meet it again; a resumed run starts from the records it kept.
 */
export class SkippedFiles {
  private readonly seen = new Set<string>();

  constructor(
    private readonly files: RunFiles,
    private readonly log: (line: string) => void,
  ) {
    for (const r of files.recordsOf("skipped")) this.seen.add(String(r.file));
  }

  get count(): number {
    return this.seen.size;
  }

  note(skipped: readonly SkippedSample[] | undefined, step: number): void {
    for (const s of skipped ?? []) {
      if (this.seen.has(s.file)) continue;
      this.seen.add(s.file);
      this.log(`skipped ${s.file}: ${s.reason}`);
      this.files.append({ kind: "skipped", file: s.file, reason: s.reason, step });
    }
  }
}

export function defaultOutDir(): string {
  const t = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return join(
    "runs",
    `${t.getFullYear()}${p(t.getMonth() + 1)}${p(t.getDate())}-${p(t.getHours())}${p(t.getMinutes())}${p(t.getSeconds())}`,
  );
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in kilobytes
}
