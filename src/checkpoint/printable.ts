/**
 * Names read from a file (tensor keys, pickle globals) end up in error messages; escaping control characters and
 * capping the length keeps those messages on one readable line even when the file is corrupt or hostile.
 */
export function printable(name: string, max = 120): string {
  const escaped = name.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}
