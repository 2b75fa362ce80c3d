/**
 * The key-count and shape check at the checkpoint boundary: a model's parameter list against a checkpoint's
 * tensors. Every problem is reported at once, so one run shows the whole mismatch.
 */
import type { HostTensor } from "../tensor/host-tensor.ts";
import { sameDims, shapeString } from "../tensor/host-tensor.ts";
import { printable } from "./printable.ts";

/**
 * Throws one Error whose first line names `source` and whose following lines list each missing key, unexpected
 * key and shape mismatch (with both shapes). Returns normally when the two sides match exactly.
 */
export function checkParams(
  expected: Map<string, number[]>,
  actual: Map<string, HostTensor>,
  source: string,
): void {
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [key, dims] of expected) {
    const t = actual.get(key);
    if (!t) missing.push(`  missing: ${printable(key)} ${shapeString(dims)}`);
    else if (!sameDims(t.dims, dims)) {
      mismatched.push(
        `  shape mismatch: ${printable(key)} expected ${shapeString(dims)}, got ${shapeString(t.dims)}`,
      );
    }
  }
  const unexpected: string[] = [];
  for (const [key, t] of actual)
    if (!expected.has(key)) unexpected.push(`  unexpected: ${printable(key)} ${shapeString(t.dims)}`);

  if (missing.length + unexpected.length + mismatched.length === 0) return;
  const counts = [
    missing.length && `${missing.length} missing`,
    unexpected.length && `${unexpected.length} unexpected`,
    mismatched.length && `${mismatched.length} with the wrong shape`,
  ].filter(Boolean);
  throw new Error(
    [
      `${source}: checkpoint does not fit the model (${counts.join(", ")}):`,
      ...missing,
      ...unexpected,
      ...mismatched,
    ].join("\n"),
  );
}
