/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun's): two zero bytes, a type byte (0x08 = unsigned byte), the
 * number of dimensions, then each dimension as a big-endian int32, then the values row-major. Only the unsigned
 * byte type is read: it is the only one these data sets use.
 */

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

interface IdxHeader {
  dims: number[];
  headerLen: number;
  /** Header and values: the file's whole length. */
  totalLen: number;
}

/** The header at the start of `bytes`, or undefined when fewer bytes than the header are given (`complete` false). */
export function readIdxHeader(bytes: Uint8Array, what: string, complete = true): IdxHeader | undefined {
  if (bytes.length < 4) {
    if (!complete) return undefined;
    throw new Error(`${what}: ${bytes.length} bytes is too short for an IDX header`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new Error(
      `${what}: not an IDX file (first bytes ${bytes[0]}, ${bytes[1]}; gzip data must be inflated first)`,
    );
  if (bytes[2] !== 0x08)
    throw new Error(`${what}: IDX type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3];
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    if (!complete) return undefined;
    throw new Error(`${what}: header of ${rank} dimensions is truncated`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (rank === 0 || dims.includes(0))
    throw new Error(`${what}: IDX dims [${dims.join(", ")}] hold no values`);
  return { dims, headerLen, totalLen: headerLen + dims.reduce((a, b) => a * b, 1) };
}

/** Parses an uncompressed IDX file; `what` names it in errors. */
export function parseIdx(bytes: Uint8Array, what = "IDX data"): IdxArray {
  const { dims, headerLen, totalLen } = readIdxHeader(bytes, what) as IdxHeader;
  const n = totalLen - headerLen;
  if (bytes.length - headerLen !== n) {
    throw new Error(
      `${what}: dims [${dims.join(", ")}] need ${n} bytes of data, the file has ${bytes.length - headerLen}`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}
