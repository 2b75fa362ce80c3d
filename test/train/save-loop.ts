// Child process of kill-safety.test.ts: saves a run's checkpoint and model over and over into argv[2], each save
// one step further from argv[3], printing "saved <step>" after each, until it is killed.
import { join } from "node:path";
import { saveTrainRun } from "../../src/train/checkpoint-node.ts";
import { RUN_FIELDS, syntheticState } from "./synthetic-state.ts";

const dir = process.argv[2];
const firstStep = Number(process.argv[3]);
// 2 × 512 Ki floats: a 16 MB checkpoint and a 4 MB model, so a kill often lands inside a write.
const SIZES = { "stem.0.weight": 1 << 19, "head.fc.weight": 1 << 19 };

const paths = { checkpoint: join(dir, "checkpoint.safetensors"), model: join(dir, "model.safetensors") };
for (let step = firstStep; ; step++) {
  await saveTrainRun(paths, { ...RUN_FIELDS, state: syntheticState(step, SIZES) }, { steps: String(step) });
  process.stdout.write(`saved ${step}\n`);
}
