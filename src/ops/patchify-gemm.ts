/**
 * Patchify convolutions (kernel = stride, no padding: ConvNeXt's stem and downsamplers) rewritten as one Gemm
 * over non-overlapping patches, for the training graph.
 *
 * With the weight as a graph input, onnxruntime computes this Conv's weight gradient (a grouped Conv whose
 * kernel is the whole output map) and its input gradient (ConvTranspose) far below GEMM speed. As patches × weightᵀ
 * the forward is Reshape → Transpose → Gemm, and the existing Gemm/Transpose/Reshape rules make both gradients
 * plain GEMMs plus one transpose.
 */
import type { Graph, Node } from "../graph/graph.ts";
import { replaceNodes } from "../graph/rewrite.ts";
import { reshape, transpose } from "./types.ts";

/**
 * Replaces each group-1 Conv with kernel = stride, no padding and a map that the stride divides, in place and in
 * order, keeping the Conv's output name. Returns how many convs were rewritten.
 */
export function patchifyConvsAsGemm(g: Graph): number {
  const bypassed = new Set<Node>();
  const count = replaceNodes(
    g,
    (n) => isPatchify(g, n),
    (n) => emitGemm(g, n, bypassed),
  );
  // The NHWC → NCHW transposes that only fed a rewritten conv (emitGemm read their input instead).
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  const outputs = new Set(g.outputs.map((o) => o.name));
  const kept = g.nodes
    .splice(0)
    .filter((n) => !(bypassed.has(n) && !used.has(n.outputs[0]) && !outputs.has(n.outputs[0])));
  g.nodes.push(...kept);
  return count;
}

const TO_NCHW = [0, 3, 1, 2];

/** The channels-last tensor `x` was transposed from, when `x` is such a transpose's output. */
function channelsLastSource(g: Graph, x: string): { node: Node; input: string } | undefined {
  const node = g.nodes.find((n) => n.outputs[0] === x);
  const perm = node?.op === "Transpose" ? (node.attrs.perm as number[] | undefined) : undefined;
  if (!node || !perm || perm.length !== 4 || perm.some((v, i) => v !== TO_NCHW[i])) return undefined;
  return { node, input: node.inputs[0] };
}

function isPatchify(g: Graph, n: Node): boolean {
  if (n.op !== "Conv" || n.domain) return false;
  const xs = g.shapes.get(n.inputs[0]);
  const ws = g.shapes.get(n.inputs[1]);
  if (!xs || !ws || xs.length !== 4 || ws.length !== 4) return false;
  const [kh, kw] = ws.slice(2);
  const strides = (n.attrs.strides as number[] | undefined) ?? [1, 1];
  const zero = (a: unknown) => a === undefined || (a as number[]).every((v) => v === 0);
  const one = (a: unknown) => a === undefined || (a as number[]).every((v) => v === 1);
  return (
    ((n.attrs.group as number | undefined) ?? 1) === 1 &&
    strides[0] === kh &&
    strides[1] === kw &&
    kh * kw > 1 &&
    zero(n.attrs.pads) &&
    one(n.attrs.dilations) &&
    n.attrs.auto_pad === undefined &&
    xs[2] % kh === 0 &&
    xs[3] % kw === 0
  );
}

function emitGemm(g: Graph, n: Node, bypassed: Set<Node>): string {
  const [x, w, b] = n.inputs;
  const [batch, c, h, wd] = g.shape(x);
  const [cout, , kh, kw] = g.shape(w);
  const [ho, wo] = [h / kh, wd / kw];
  // One row per patch; the weight [Cout, C, kh, kw] is read in the same order as the patch.
  // The downsamplers' input is a LayerNorm's channels-last output moved to NCHW: the patches are read from that
  // channels-last tensor itself, [N, Ho, kh, Wo, kw, C] → [N, Ho, Wo, kh, kw, C], which copies runs of kw·C values
  // forward and backward. From NCHW, onnxruntime merged the two transposes forward, but the backward went to NCHW
  // one value at a time (5.3 ms for convnext_atto's first downsampler at batch 32; the step 483 → 447 ms).
  // From an NCHW input (the stem's images), [N, C, Ho, kh, Wo, kw] → [N, Ho, Wo, C, kh, kw] keeps runs of kw
  // values, where a channels-last patch moved single ones: 3.0 against 9.8 ms for convnext_atto's stem at 128² b32.
  const source = channelsLastSource(g, x);
  if (source) bypassed.add(source.node);
  const rows = source
    ? transpose(g, reshape(g, source.input, [batch, ho, kh, wo, kw, c]), [0, 1, 3, 2, 4, 5])
    : transpose(g, reshape(g, x, [batch, c, ho, kh, wo, kw]), [0, 2, 4, 1, 3, 5]);
  const patches = reshape(g, rows, [batch * ho * wo, kh * kw * c]);
  const weight = source ? transpose(g, w, [0, 2, 3, 1]) : w;
  const inputs = [patches, reshape(g, weight, [cout, kh * kw * c])];
  if (b) inputs.push(b);
  const y = g.op("Gemm", inputs, { transB: 1 }, "patchify");
  return transpose(g, reshape(g, y, [batch, ho, wo, cout]), [0, 3, 1, 2]);
}
