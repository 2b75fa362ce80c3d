/**
 * CRC-32 (IEEE 802.3, the zip checksum), slice-by-4 over a table: fast enough to check every entry of a
 * multi-GB checkpoint on load. Written here because fflate does not export its own and this code also runs in
 * browsers (no node:zlib).
 */
const TABLES = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 4; s++)
      t[s * 256 + n] = (t[(s - 1) * 256 + n] >>> 8) ^ t[t[(s - 1) * 256 + n] & 0xff];
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  let i = 0;
  const end4 = bytes.length - (bytes.length % 4);
  for (; i < end4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c =
      TABLES[768 + (c & 0xff)] ^
      TABLES[512 + ((c >>> 8) & 0xff)] ^
      TABLES[256 + ((c >>> 16) & 0xff)] ^
      TABLES[c >>> 24];
  }
  for (; i < bytes.length; i++) c = TABLES[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
