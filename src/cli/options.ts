/** Option parsers shared by the subcommands: each rejects bad values with a message naming the flag. */
import { InvalidArgumentError } from "commander";

export function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
}

export function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be an integer ≥ 0, got '${v}'`);
    return n;
  };
}

export function nonNegativeNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a number ≥ 0, got '${v}'`);
    return n;
  };
}

/** A probability-like setting in [0, 1): label smoothing, for one. */
export function fractionBelowOne(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n >= 1)
      throw new InvalidArgumentError(`${flag} must be a number in [0, 1), got '${v}'`);
    return n;
  };
}
