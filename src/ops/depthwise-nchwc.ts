/**
 * Depthwise convolutions of a training graph run on onnxruntime's NCHWc kernels (com.microsoft.nchwc domain).
 *
 * onnxruntime moves a Conv to its blocked NCHWc layout only when the weight is a constant initializer (inference).
 * In a training step the weight is a graph input, and the depthwise Conv then runs as one im2col + matrix–vector
 * product per image and channel: 12.4 ms for convnext_atto's stage-0 conv at 128² batch 32 on one thread. The
 * NCHWc kernels read the filter at run time, so the same conv written with them directly — ReorderInput, Conv on
 * channel blocks, ReorderOutput, with the filter reordered by Pad/Reshape/Transpose in the graph — takes
 * 1.9 ms plus 0.75 ms of reorders. The forward conv and the input gradient's conv (also a "same"-padded
 * depthwise conv, of the flipped kernel) are both rewritten; the weight gradient keeps its own form.
 *
 * The channel block is onnxruntime's (MLAS) and depends on the CPU (16 with AVX-512, 8 with AVX2): the caller
 * measures it (train/nchwc-node.ts), and graphs for other engines (onnxruntime-web) are never rewritten.
 */
import type { Attrs, Graph, Node } from "../graph/graph.ts";
import { replaceNodes } from "../graph/rewrite.ts";
import { isSameDepthwise } from "./conv.ts";
import { i64, reshape, transpose } from "./types.ts";

export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/**
 * Replaces each stride-1, "same"-padded depthwise Conv whose channel count is a multiple of 4 (what
 * ReorderInput accepts) by its NCHWc form for channel blocks of `blockSize`, in place and in order, keeping the
 * Conv's output name. Returns how many convs were rewritten.
 */
export function depthwiseConvsAsNchwc(g: Graph, blockSize: number): number {
  if (!Number.isInteger(blockSize) || blockSize < 4) throw new Error(`NCHWc block size ${blockSize}`);
  const count = replaceNodes(
    g,
    (n) => {
      const xs = g.shapes.get(n.inputs[0]);
      const ws = g.shapes.get(n.inputs[1]);
      return !!xs && !!ws && isSameDepthwise(n, xs, ws) && xs[1] % 4 === 0;
    },
    (n) => emitNchwc(g, n, blockSize),
  );
  readAndWriteChannelsLast(g);
  return count;
}

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

/**
 * The reorders take channels-last tensors directly, saving a pass over the block's activations each:
 *  - a ReorderOutput read only by an NCHW → NHWC Transpose (the block's move to channels-last for LayerNorm and
 *    the MLP, or a gradient's back to a channels-last residual stream) writes channels-last itself;
 *  - a ReorderInput of an NHWC → NCHW Transpose (from a channels-last residual stream, or a gradient coming back
 *    from the MLP) reads that Transpose's input; the Transpose goes when nothing else reads it.
 */
function readAndWriteChannelsLast(g: Graph): void {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  const isTranspose = (n: Node | undefined, perm: number[]) =>
    n?.op === "Transpose" && (n.attrs.perm as number[] | undefined)?.join() === perm.join();
  const dropped = new Set<Node>();
  for (const n of g.nodes) {
    if (n.domain !== NCHWC_DOMAIN) continue;
    if (n.op === "ReorderOutput" && !outputs.has(n.outputs[0])) {
      const readers = consumers.get(n.outputs[0]) ?? [];
      if (readers.length !== 1 || !isTranspose(readers[0], TO_NHWC)) continue;
      n.attrs = { ...n.attrs, channels_last: 1 };
      n.outputs = [readers[0].outputs[0]];
      dropped.add(readers[0]);
    } else if (n.op === "ReorderInput") {
      const t = producer.get(n.inputs[0]);
      if (!t || !isTranspose(t, TO_NCHW)) continue;
      n.attrs = { ...n.attrs, channels_last: 1 };
      n.inputs = [t.inputs[0]];
      const stillRead = (consumers.get(t.outputs[0]) ?? []).some((c) => c !== n);
      if (!stillRead && !outputs.has(t.outputs[0])) dropped.add(t);
    }
  }
  const kept = g.nodes.splice(0).filter((n) => !dropped.has(n));
  g.nodes.push(...kept);
}

function emitNchwc(g: Graph, n: Node, block: number): string {
  const [x, w, b] = n.inputs;
  const [batch, c, h, wd] = g.shape(x);
  const k = g.shape(w)[2];
  const r = (k - 1) / 2;
  // Channels padded up to whole blocks (ReorderInput pads the input with zeros; the filter and bias are padded
  // here), then the filter in MLAS's OIHWBo order: [C/B, k, k, B].
  const cp = Math.ceil(c / block) * block;
  const padChannels = (t: string, rank: number) =>
    cp === c
      ? t
      : g.op("Pad", [t, i64(g, [0, ...Array(rank - 1).fill(0), cp - c, ...Array(rank - 1).fill(0)])]);
  const filter = reshape(
    g,
    transpose(
      g,
      reshape(g, padChannels(reshape(g, w, [c, k * k]), 2), [cp / block, block, k * k]),
      [0, 2, 1],
    ),
    [cp, 1, k, k],
  );
  const blocked = nchwcNode(g, "ReorderInput", [x], {}, [batch, cp, h, wd]);
  const conv = nchwcNode(
    g,
    "Conv",
    [blocked, filter, ...(b ? [padChannels(b, 1)] : [])],
    { kernel_shape: [k, k], pads: [r, r, r, r], group: cp },
    [batch, cp, h, wd],
  );
  return nchwcNode(g, "ReorderOutput", [conv], { channels: c }, [batch, c, h, wd]);
}

function nchwcNode(g: Graph, op: string, inputs: string[], attrs: Attrs, shape: number[]): string {
  const out = g.fresh(`nchwc_${op.toLowerCase()}`);
  g.nodes.push({ op, domain: NCHWC_DOMAIN, inputs, outputs: [out], attrs, name: g.fresh(`n_nchwc_${op}`) });
  g.shapes.set(out, shape);
  g.dtypes.set(out, "float32");
  return out;
}
