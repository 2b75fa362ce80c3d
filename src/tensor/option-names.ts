/**
 * Option objects from JavaScript callers: a misspelt name would otherwise be ignored without a word, and
 * `classify(images, { weight: "mine.safetensors" })` would answer with the bundled model instead of the caller's.
 * Each caller lists its names as a `Record<keyof Options, true>`, so the type checker keeps the list complete.
 */
export function checkOptionNames(
  opts: object | undefined,
  known: Readonly<Record<string, true>>,
  what: string,
): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object")
    throw new Error(`${what}: options must be an object, got ${opts === null ? "null" : typeof opts}`);
  const unknown = Object.keys(opts).find((k) => !Object.hasOwn(known, k));
  if (unknown !== undefined)
    throw new Error(`${what}: unknown option '${unknown}' (known: ${Object.keys(known).join(", ")})`);
}
