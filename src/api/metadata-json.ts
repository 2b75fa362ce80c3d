import { jsonDepth, LIMITS } from "../tensor/limits.ts";

/** A metadata entry holding a JSON object (checkpoint `__metadata__`, ONNX metadata_props), parsed or refused in one line. */
export function metadataObject(text: string, key: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${source}: metadata '${key}' is not a JSON object`);
  if (jsonDepth(raw) > LIMITS.maxNestingDepth)
    throw new Error(`${source}: metadata '${key}' nests deeper than ${LIMITS.maxNestingDepth} levels`);
  return raw as Record<string, unknown>;
}
