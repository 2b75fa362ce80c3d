/**
 * Which class names a model's outputs get. A checkpoint rarely says; the rules, first match wins:
 * 1. names the caller passes;
 * 2. a `labels` JSON list in the safetensors metadata (written on purpose, by our trainer or a user);
 * 3. the label set of the chosen pretrained entry, when its class count matches;
 * 4. 1000 classes → ImageNet-1k names, 21841 → ImageNet-22k names (the only heads with those sizes);
 * 5. HF `id2label`, unless it holds transformers' placeholders (`LABEL_0`, …);
 * 6. `class <i>`.
 * NOTE: metadata labels come before the class-count rule so a custom 1000-class head keeps its own names.
 */
import type { LabelSet } from "../pretrained/registry.ts";

export type LabelSource = "given" | "metadata" | LabelSet | "hf-config" | "generic";

export interface ChosenLabels {
  names: string[];
  source: LabelSource;
}

export interface LabelFacts {
  numClasses: number;
  /** Names passed by the caller. */
  given?: readonly string[];
  /** safetensors `__metadata__` of the checkpoint. */
  metadata?: Record<string, string>;
  /** HF config.json id2label, in class order. */
  hfLabels?: readonly string[];
  /** Label set of the pretrained entry the weights belong to, with its class count. */
  pretrained?: { labels: LabelSet; numClasses: number };
  /** Reads a standard label set (in Node: `loadLabels(set).names`). Without it rules 3–4 are skipped. */
  loadSet?: (set: LabelSet) => readonly string[];
  /** Names the checkpoint in error messages. */
  source?: string;
}

/** Class counts that identify a standard label set. */
export const LABEL_SET_SIZES: Record<LabelSet, number> = { in1k: 1000, in22k: 21841 };

/** The `labels` metadata entry: a JSON list of strings, or undefined when absent. */
export function metadataLabels(
  metadata: Record<string, string>,
  source = "checkpoint",
): string[] | undefined {
  const text = metadata.labels;
  if (text === undefined) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: metadata 'labels' is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) {
    throw new Error(`${source}: metadata 'labels' must be a JSON list of strings`);
  }
  return list;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

function isPlaceholder(names: readonly string[]): boolean {
  return names.every((n, i) => n === `LABEL_${i}`);
}

export function chooseLabels(facts: LabelFacts): ChosenLabels {
  const { numClasses, source = "checkpoint" } = facts;
  const check = (names: readonly string[], what: string) => {
    if (!Array.isArray(names))
      throw new Error(`${source}: ${what} must be a list of strings, got ${typeof names}`);
    if (names.length !== numClasses) {
      throw new Error(`${source}: ${what} has ${names.length} names but the model has ${numClasses} classes`);
    }
    // A label is printed as it is, one result per line: a newline or a terminal escape in it would forge lines.
    const bad = names.findIndex((n) => typeof n !== "string" || CONTROL_CHARACTER.test(n));
    if (bad >= 0) throw new Error(`${source}: ${what}: name ${bad} is not a string of printable characters`);
    return [...names];
  };
  if (facts.given) return { names: check(facts.given, "the label list given"), source: "given" };
  const fromMetadata = facts.metadata && metadataLabels(facts.metadata, source);
  if (fromMetadata) return { names: check(fromMetadata, "metadata 'labels'"), source: "metadata" };
  if (facts.loadSet) {
    const set =
      facts.pretrained?.numClasses === numClasses
        ? facts.pretrained.labels
        : (Object.keys(LABEL_SET_SIZES) as LabelSet[]).find((s) => LABEL_SET_SIZES[s] === numClasses);
    if (set) return { names: check(facts.loadSet(set), `label set ${set}`), source: set };
  }
  if (facts.hfLabels && facts.hfLabels.length === numClasses && !isPlaceholder(facts.hfLabels)) {
    return { names: check(facts.hfLabels, "config.json id2label"), source: "hf-config" };
  }
  return { names: Array.from({ length: numClasses }, (_, i) => `class ${i}`), source: "generic" };
}
