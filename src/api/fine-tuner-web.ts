/** A FineTuner in the browser: checkpoint bytes in, training steps on onnxruntime-web. */
import { createSession } from "../runtime/session-web.ts";
import { type CheckpointBytesChoice, readCheckpointChoice } from "./checkpoint-bytes.ts";
import { type FineTuneSettings, FineTuner } from "./fine-tuner.ts";

export type WebFineTunerOptions = Omit<CheckpointBytesChoice, "labels"> & FineTuneSettings;

export function createWebFineTuner(opts: WebFineTunerOptions): FineTuner {
  const { checkpoint, preprocess } = readCheckpointChoice(opts);
  // One thread pool spinning beside the page's own work would only slow both.
  return new FineTuner({ ...checkpoint, preprocess }, opts, (onnx) =>
    createSession(onnx, { spinning: false }),
  );
}
