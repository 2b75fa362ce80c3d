/**
 * The zip container of a torch.save checkpoint, read from its central directory with every claim checked
 * against the bytes actually present before it is acted on: the entry count against the directory's size (a
 * 128-byte file claiming 2^32−1 entries fails at once instead of being walked), each entry inside the file,
 * stored uncompressed (torch.save never compresses, so a deflated entry cannot come from it and would let a
 * small file inflate to gigabytes), and its CRC-32. Entries are returned as views of the file's bytes, no copies.
 * Entry names are only used as keys; nothing is ever written to disk.
 */
import type { Limits } from "../tensor/limits.ts";
import { LIMITS } from "../tensor/limits.ts";
import { crc32 } from "./crc32.ts";
import { printable } from "./printable.ts";

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const U16 = 0xffff;
const U32 = 0xffffffff;

export function readStoredZip(
  bytes: Uint8Array,
  fileName: string,
  limits: Pick<Limits, "maxZipEntries"> = LIMITS,
): Map<string, Uint8Array> {
  const bad = (why: string) => new Error(`${fileName}: corrupt or truncated zip archive (${why})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => {
    const hi = view.getUint32(at + 4, true);
    // Beyond 2^53 nothing fits in memory anyway; say so rather than lose precision.
    if (hi >= 2 ** 21) throw bad("a 64-bit size field is implausibly large");
    return hi * 2 ** 32 + view.getUint32(at, true);
  };

  // The end record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - U16); at--) {
    if (view.getUint32(at, true) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw bad("no end-of-central-directory record");
  let entries = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (entries === U16 || cdSize === U32 || cdOffset === U32) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) throw bad("zip64 locator missing");
    const record = u64(locator + 8);
    if (record + 56 > locator || view.getUint32(record, true) !== ZIP64_EOCD)
      throw bad("zip64 end record missing");
    entries = u64(record + 32);
    cdSize = u64(record + 40);
    cdOffset = u64(record + 48);
  }
  if (cdOffset + cdSize > bytes.length) {
    throw bad(
      `central directory [${cdOffset}, ${cdOffset + cdSize}) runs past the ${bytes.length}-byte file`,
    );
  }
  if (entries * CENTRAL_SIZE > cdSize) {
    throw bad(
      `${entries} entries claimed, but the ${cdSize}-byte central directory has room for at most ${Math.floor(cdSize / CENTRAL_SIZE)}`,
    );
  }
  if (entries > limits.maxZipEntries)
    throw bad(`${entries} entries, over the limit of ${limits.maxZipEntries}`);

  const files = new Map<string, Uint8Array>();
  const utf8 = new TextDecoder();
  let at = cdOffset;
  for (let i = 0; i < entries; i++) {
    if (at + CENTRAL_SIZE > cdOffset + cdSize || view.getUint32(at, true) !== CENTRAL) {
      throw bad(`central directory entry ${i} is malformed`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const next = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) throw bad(`central directory entry ${i} runs past the directory`);
    const name = utf8.decode(bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength));
    // Zip64 extra field: the 64-bit values of exactly those fields that read 0xffffffff, in this order.
    for (let x = at + CENTRAL_SIZE + nameLength; x + 4 <= at + CENTRAL_SIZE + nameLength + extraLength; ) {
      const id = view.getUint16(x, true);
      const length = view.getUint16(x + 2, true);
      if (id === 1) {
        let f = x + 4;
        const field = () => {
          if (f + 8 > x + 4 + length) throw bad(`entry ${printable(name)} has a short zip64 field`);
          f += 8;
          return u64(f - 8);
        };
        if (size === U32) size = field();
        if (compressed === U32) compressed = field();
        if (local === U32) local = field();
      }
      x += 4 + length;
    }
    at = next;

    const entry = printable(name);
    if (flags & 1) throw bad(`entry ${entry} is encrypted`);
    if (method !== 0 || compressed !== size) {
      throw new Error(
        `${fileName}: zip entry ${entry} is compressed (method ${method}); torch.save stores entries uncompressed, so this archive did not come from it (re-save with torch.save)`,
      );
    }
    if (files.has(name)) throw bad(`entry ${entry} appears twice`);
    if (local + LOCAL_SIZE > bytes.length || view.getUint32(local, true) !== LOCAL) {
      throw bad(`entry ${entry} has no local header at offset ${local}`);
    }
    const start = local + LOCAL_SIZE + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + size > bytes.length) {
      throw bad(`entry ${entry} needs ${size} bytes at offset ${start}, past the end of the file`);
    }
    const data = bytes.subarray(start, start + size);
    if (crc32(data) !== crc) throw bad(`entry ${entry} fails its CRC-32 check`);
    files.set(name, data);
  }
  return files;
}
