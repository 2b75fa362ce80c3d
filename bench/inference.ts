/**
 * Inference speed: our ConvNeXt-T graph against the graph users run today (HF ConvNeXt-T exported to ONNX
 * opset 14, fixtures/peers), in the same process, same onnxruntime, interleaved so machine noise hits both.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { toOnnxBytes } from "../src/graph/onnx.ts";
import { buildConvNeXt } from "../src/models/convnext.ts";
import { initParams } from "../src/models/init.ts";
import { modelConfig } from "../src/models/variants.ts";
import { createSession } from "../src/runtime/session-node.ts";
import { float32 } from "../src/tensor/host-tensor.ts";
import { Rng } from "../src/train/rng.ts";
import { compareMs, fmt } from "./stats.ts";

export async function benchInference(fixtures: string, repeats = 11): Promise<string[]> {
  const cfg = modelConfig("convnext_tiny", { layerScaleInit: 0.5 });
  const rng = new Rng(0);
  const ours = toOnnxBytes(buildConvNeXt(cfg, { weights: initParams(cfg, () => rng.normal()) }).graph);
  const peer = new Uint8Array(gunzipSync(readFileSync(`${fixtures}/peers/convnext_tiny_hf_opset14.onnx.gz`)));
  const lines = [`ConvNeXt-T fp32 inference, ms per batch (median of ${repeats}), ours vs HF opset-14 peer`];
  lines.push("batch threads   ours    peer   ratio (ours/peer)   CPU-time ratio");
  for (const threads of [1, 2]) {
    const a = await createSession(ours, { threads });
    const b = await createSession(peer, { threads });
    for (const batch of [1, 8]) {
      const x = float32(
        [batch, 3, 224, 224],
        Float32Array.from({ length: batch * 3 * 224 * 224 }, () => rng.normal()),
      );
      const [ta, tb] = await compareMs(
        () => a.run({ x }),
        () => b.run({ pixel_values: x }),
        repeats,
      );
      lines.push(
        `${String(batch).padStart(5)} ${String(threads).padStart(7)} ${fmt(ta.median).padStart(6)} ${fmt(tb.median).padStart(7)}   ${(ta.median / tb.median).toFixed(3)}               ${(ta.cpuMedian / tb.cpuMedian).toFixed(3)}`,
      );
    }
    await a.release();
    await b.release();
  }
  return lines;
}
