/**
 * The palette colour of a GIF's transparent index in its first frame. PIL opens that frame in palette mode and
 * `convert('RGB')` looks every index up, the transparent one included; libvips instead gives those pixels alpha
 * 0 and black, and sharp does not expose the palette. Reading the colour needs only the header blocks before
 * the first image's pixel data (no LZW), so it is done here rather than with a second GIF decoder.
 */

/** [r, g, b] of the first frame's transparent index, or undefined when it has none (or the data is not a GIF). */
export function gifTransparentColour(bytes: Uint8Array): [number, number, number] | undefined {
  const ascii = String.fromCharCode(...bytes.subarray(0, 6));
  if (ascii !== "GIF87a" && ascii !== "GIF89a") return undefined;
  let pos = 13;
  const screenFlags = bytes[10];
  let palette: Uint8Array | undefined;
  if (screenFlags & 0x80) {
    const size = 3 * 2 ** ((screenFlags & 7) + 1);
    palette = bytes.subarray(pos, pos + size);
    pos += size;
  }
  let transparent: number | undefined;
  while (pos < bytes.length) {
    const block = bytes[pos];
    if (block === 0x21) {
      // Extension: a graphic control extension (0xF9) carries the transparency flag and index.
      const label = bytes[pos + 1];
      if (label === 0xf9 && bytes[pos + 2] >= 4)
        transparent = bytes[pos + 3] & 1 ? bytes[pos + 6] : undefined;
      pos += 2;
      while (pos < bytes.length && bytes[pos] !== 0) pos += bytes[pos] + 1;
      pos += 1;
    } else if (block === 0x2c) {
      // The first image: its local colour table, when present, replaces the global one.
      const imageFlags = bytes[pos + 9];
      if (imageFlags & 0x80) palette = bytes.subarray(pos + 10, pos + 10 + 3 * 2 ** ((imageFlags & 7) + 1));
      if (transparent === undefined || !palette || 3 * transparent + 2 >= palette.length) return undefined;
      return [palette[3 * transparent], palette[3 * transparent + 1], palette[3 * transparent + 2]];
    } else {
      return undefined;
    }
  }
  return undefined;
}
