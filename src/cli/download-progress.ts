/** Download progress on stderr: a bar on a terminal, one line per file otherwise. */
import cliProgress from "cli-progress";
import { isQuiet, notice } from "./output.ts";

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

export interface DownloadProgress {
  onProgress(received: number, total: number | undefined): void;
  stop(): void;
}

/** Progress of downloading one file called `name`. */
export function downloadProgress(name: string): DownloadProgress {
  let bar: cliProgress.SingleBar | undefined;
  let announced = false;
  return {
    onProgress(received: number, total: number | undefined) {
      if (isQuiet()) return;
      if (!process.stderr.isTTY) {
        if (!announced) notice(`downloading ${name}${total ? ` (${mb(total)} MB)` : ""}`);
        announced = true;
        return;
      }
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `downloading ${name} [{bar}] {got}/{size} MB`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total ?? 1, 0, { got: mb(0), size: total ? mb(total) : "?" });
      }
      bar.update(total ? received : 0, { got: mb(received), size: total ? mb(total) : "?" });
    },
    stop() {
      bar?.stop();
    },
  };
}

type FilesProgress = (file: string, received: number, total: number | undefined) => void;

/** Runs `fetch` with a bar per downloaded file, removed when it ends (however it ends). */
export async function withFilesDownloadProgress<T>(
  fetch: (onProgress: FilesProgress) => Promise<T>,
): Promise<T> {
  const progress = filesDownloadProgress();
  try {
    return await fetch(progress.onProgress);
  } finally {
    progress.stop();
  }
}

/** Progress of downloading several files one after another, each with its own bar. */
function filesDownloadProgress(): {
  onProgress: FilesProgress;
  stop(): void;
} {
  let current: { file: string; progress: DownloadProgress } | undefined;
  return {
    onProgress(file, received, total) {
      if (current?.file !== file) {
        current?.progress.stop();
        current = { file, progress: downloadProgress(file) };
      }
      current.progress.onProgress(received, total);
    },
    stop() {
      current?.progress.stop();
    },
  };
}
