/**
 * Class names for the label sets of the pretrained heads, read from `assets/labels/` (shipped with the
 * package; see its README.txt for where each list comes from). Line i of each file is class i.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LabelSet } from "./registry.ts";

/** `assets/labels/` of the package, found from this file so it works from any working directory. */
export const LABELS_DIR = fileURLToPath(new URL("../../assets/labels/", import.meta.url));

export interface Labels {
  set: LabelSet;
  /** What to show a user: torchvision's short unique names (in1k) or the WordNet lemmas (in22k). */
  names: string[];
  /** WordNet ids (`n01440764`), the standard class order. */
  synsets: string[];
  /** WordNet lemmas (`tench, Tinca tinca`); not unique. */
  lemmas: string[];
}

const FILES: Record<LabelSet, { names: string; synsets: string; lemmas: string; count: number }> = {
  in1k: {
    names: "imagenet1k_classes.txt",
    synsets: "imagenet1k_synsets.txt",
    lemmas: "imagenet1k_lemmas.txt",
    count: 1000,
  },
  in22k: {
    names: "imagenet22k_lemmas.txt",
    synsets: "imagenet22k_synsets.txt",
    lemmas: "imagenet22k_lemmas.txt",
    count: 21841,
  },
};

function readList(file: string, count: number): string[] {
  const path = LABELS_DIR + file;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read label list (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== count) throw new Error(`${path}: expected ${count} labels, found ${lines.length}`);
  return lines;
}

const cache = new Map<LabelSet, Labels>();

/** Loads (once) and returns the labels of a set. */
export function loadLabels(set: LabelSet): Labels {
  const hit = cache.get(set);
  if (hit) return hit;
  const f = FILES[set];
  if (!f) throw new Error(`unknown label set '${set}' (known: ${Object.keys(FILES).join(", ")})`);
  const labels: Labels = {
    set,
    names: readList(f.names, f.count),
    synsets: readList(f.synsets, f.count),
    lemmas: readList(f.lemmas, f.count),
  };
  cache.set(set, labels);
  return labels;
}
