/**
 * One long-lived worker process under watch: each case gets a deadline, and the process's resident memory is
 * sampled from /proc while it runs. A case that overruns or outgrows its budget gets the process killed and a
 * fresh one started for the next case; V8's own heap cap (--max-old-space-size) turns heap growth into an exit
 * the watch also reports as a blow-up.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CaseReply, CaseRequest } from "./worker.ts";

export type Outcome =
  | { kind: "done"; reply: CaseReply; peakRss: number }
  | { kind: "hang"; peakRss: number; cpuSeconds: number }
  | { kind: "blow-up"; peakRss: number; why: string }
  | { kind: "crash"; peakRss: number; why: string };

export interface WatchLimits {
  timeoutMs: number;
  maxRssBytes: number;
  /** V8 heap cap of the worker, in MB. */
  heapMb: number;
}

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds a process has used (user + system), to tell a busy hang from a starved one on a loaded machine. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export class WatchedChild {
  private child: ChildProcess | undefined;
  private stderr = "";

  constructor(private readonly limits: WatchLimits) {}

  private async start(): Promise<ChildProcess> {
    const child = fork(WORKER, [], {
      execArgv: ["--import", "tsx", `--max-old-space-size=${this.limits.heapMb}`],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) =>
        reject(new Error(`fuzz worker exited at start (${code}): ${this.stderr}`)),
      );
    });
    this.child = child;
    return child;
  }

  async run(req: CaseRequest): Promise<Outcome> {
    const child = this.child ?? (await this.start());
    let peakRss = 0;
    const outcome = await new Promise<Outcome>((resolve) => {
      const finish = (o: Outcome) => {
        clearInterval(sampler);
        clearTimeout(deadline);
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(o);
      };
      const onMessage = (reply: CaseReply) => finish({ kind: "done", reply, peakRss });
      const onExit = (code: number | null, signal: string | null) => {
        const oom = /heap out of memory|Allocation failed/i.test(this.stderr);
        const why = `exit ${code ?? signal}${oom ? " (heap out of memory)" : ""}`;
        finish(oom ? { kind: "blow-up", peakRss, why } : { kind: "crash", peakRss, why });
      };
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, rssOf(child.pid!));
        if (peakRss > this.limits.maxRssBytes) {
          finish({ kind: "blow-up", peakRss, why: `RSS ${Math.round(peakRss / 2 ** 20)} MB` });
        }
      }, 25);
      const cpuAtStart = cpuSecondsOf(child.pid!);
      const deadline = setTimeout(
        () => finish({ kind: "hang", peakRss, cpuSeconds: cpuSecondsOf(child.pid!) - cpuAtStart }),
        this.limits.timeoutMs,
      );
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send(req);
    });
    if (outcome.kind !== "done") this.stop();
    return outcome;
  }

  stop(): void {
    this.child?.kill("SIGKILL");
    this.child = undefined;
  }
}
