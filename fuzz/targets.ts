/**
 * What each fuzz target feeds and exercises. Seeds are the reference fixtures (found as the tests find them);
 * a case is written to its own folder and opened through the same library calls the CLI makes, so the bounded
 * reads, format sniffing and every parser after them are on the path.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TIMM_DEFAULT_PREPROCESS } from "../src/api/image-preprocess.ts";
import { loadCheckpointFile } from "../src/checkpoint/load-node.ts";
import { decodeImage } from "../src/preprocess/decode-node.ts";
import { evalTransform } from "../src/preprocess/transform.ts";
import { fixture } from "../test/fixtures.ts";

export interface Target {
  /** Seed files, relative to the fixtures folder. */
  seeds: string[];
  /** Writes a case into `dir` and returns the path to open. */
  write(dir: string, bytes: Uint8Array, seedIndex: number): string;
  /** Opens a case the way the CLI would; throws on a bad file. */
  open(path: string): Promise<void>;
}

const openCheckpoint = async (path: string) => {
  await loadCheckpointFile(path);
};

const HF_FOLDERS = ["models/v1-small/hf", "models/v2-small/hf", "models/hf-eps/hf"];

export const TARGETS: Record<string, Target> = {
  safetensors: {
    seeds: [
      "models/v1-small/timm.safetensors",
      "models/v2-small/timm.safetensors",
      "models/v1-small/hf/model.safetensors",
      "models/hf-eps/wrong_eps.safetensors",
    ],
    write: (dir, bytes) => writeCase(dir, "weights.safetensors", bytes),
    open: openCheckpoint,
  },
  pth: {
    seeds: [
      "models/v1-small/official.pth",
      "models/v1-small/torchvision.pth",
      "models/v2-small/official.pth",
    ],
    write: (dir, bytes) => writeCase(dir, "weights.pth", bytes),
    open: openCheckpoint,
  },
  "hf-config": {
    seeds: HF_FOLDERS.map((f) => `${f}/config.json`),
    write: (dir, bytes, seedIndex) => {
      writeCase(dir, "config.json", bytes);
      symlinkSync(fixture(HF_FOLDERS[seedIndex], "model.safetensors"), join(dir, "model.safetensors"));
      return dir;
    },
    open: openCheckpoint,
  },
  image: {
    seeds: [
      "astronaut.png",
      "camera.png",
      "chelsea.png",
      "coffee.png",
      "foo3x5x4indexed.png",
      "rocket.jpg",
    ].map((f) => `preprocess/images/${f}`),
    // The name carries no format: the decoder must go by the content, as it does in a folder walk.
    write: (dir, bytes) => writeCase(dir, "image.png", bytes),
    open: async (path) => {
      evalTransform(await decodeImage(path), TIMM_DEFAULT_PREPROCESS);
    },
  },
};

function writeCase(dir: string, name: string, bytes: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

export function readSeeds(target: Target): Uint8Array[] {
  return target.seeds.map((s) => new Uint8Array(readFileSync(fixture(s))));
}
