/** Option parsers shared by the subcommands: each rejects bad values with a message naming the flag. */
import { availableParallelism } from "node:os";
import { InvalidArgumentError } from "commander";
import { isPrecision, type Precision, PRECISIONS } from "../graph/precision.ts";
import { FEATURE_OUTPUTS, type FeatureName } from "../models/convnext.ts";

/** A parser for a number option that `valid` accepts; `what` completes "<flag> must be …". */
function numberParser(flag: string, valid: (n: number) => boolean, what: string) {
  return (v: string): number => {
    const n = v.trim() === "" ? Number.NaN : Number(v);
    if (!valid(n)) throw new InvalidArgumentError(`${flag} must be ${what}, got '${v}'`);
    return n;
  };
}

export function positiveInt(flag: string) {
  return numberParser(flag, (n) => Number.isInteger(n) && n > 0, "a positive integer");
}

/** An integer from 1 to `max`: sizes whose work or memory grows with the value. */
export function boundedPositiveInt(flag: string, max: number) {
  return numberParser(flag, (n) => Number.isInteger(n) && n > 0 && n <= max, `an integer from 1 to ${max}`);
}

/** `--threads`: 1 to the machine's cores (runtime/threads.ts says why more is refused). */
export function threadsOption(v: string): number {
  const cores = availableParallelism();
  return numberParser(
    "--threads",
    (n) => Number.isInteger(n) && n >= 1 && n <= cores,
    `an integer from 1 to ${cores} (this machine's cores)`,
  )(v);
}

export function nonNegativeInt(flag: string) {
  return numberParser(flag, (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0");
}

export function nonNegativeNumber(flag: string) {
  return numberParser(flag, (n) => Number.isFinite(n) && n >= 0, "a number ≥ 0");
}

/** A probability-like setting in [0, 1): label smoothing, for one. */
export function fractionBelowOne(flag: string) {
  return numberParser(flag, (n) => Number.isFinite(n) && n >= 0 && n < 1, "a number in [0, 1)");
}

/** `--precision`: one of the inference precisions (graph/precision.ts); anything else is a usage error. */
export function precisionOption(v: string): Precision {
  if (!isPrecision(v))
    throw new InvalidArgumentError(`--precision ${v} is not supported (${PRECISIONS.join(", ")})`);
  return v;
}

export const PRECISION_HELP = "fp32, fp16 (half-size weights) or int8 (dynamically quantized linear layers)";

/**
 * `--outputs`/`--features`: comma-separated model outputs; empty entries are skipped and repeats kept once, in
 * order; an unknown name, or none at all, is a usage error.
 */
export function featureListOption(flag: string) {
  return (v: string): FeatureName[] => {
    const names = [...new Set(v.split(",").map((s) => s.trim()))].filter(Boolean);
    const unknown = names.filter((n) => !(FEATURE_OUTPUTS as readonly string[]).includes(n));
    if (unknown.length)
      throw new InvalidArgumentError(
        `${flag}: unknown ${unknown.map((n) => `'${n}'`).join(", ")} (known: ${FEATURE_OUTPUTS.join(", ")})`,
      );
    if (names.length === 0)
      throw new InvalidArgumentError(`${flag}: no name given (known: ${FEATURE_OUTPUTS.join(", ")})`);
    return names as FeatureName[];
  };
}
