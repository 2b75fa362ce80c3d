/**
 * What a file that is not safetensors is instead, from its first bytes, so a `.pth` handed to a safetensors
 * reader is named as such rather than reported as an implausible header length.
 */
import { isLegacyTorchSave, isZip } from "./pth.ts";

export function describeNotSafetensors(bytes: Uint8Array): string | undefined {
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
