/**
 * What a file that is not safetensors is instead, from its first bytes, so a `.pth` handed to a safetensors
 * reader is named as such rather than reported as an implausible header length.
 */
import { isLegacyTorchSave, isZip } from "./pth.ts";

export function describeNotSafetensors(bytes: Uint8Array): string | undefined {
  // A header length of 640 is written 80 02 00 …, which is also how a protocol-2 pickle begins: a file shaped
  // like safetensors is taken as one, and only a file that is not gets named by its first bytes.
  if (looksLikeSafetensors(bytes)) return undefined;
  if (isZip(bytes)) return "it is a zip archive (a torch.save .pth checkpoint?)";
  if (isLegacyTorchSave(bytes)) {
    return "it is a legacy (pre-1.6, non-zip) torch.save checkpoint; re-save it with torch.save's default zip format";
  }
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return "it is a Python pickle";
  // Very old torch.save wrote a tar archive ("ustar" at offset 257).
  if (String.fromCharCode(...bytes.subarray(257, 262)) === "ustar") {
    return "it is a tar archive (the oldest torch.save format); re-save it with torch.save's default zip format";
  }
  return undefined;
}

/** An 8-byte little-endian header length that fits in the file, followed by a JSON object. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 9 || bytes[8] !== 0x7b) return false;
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return declared + 8n <= BigInt(bytes.byteLength);
}
