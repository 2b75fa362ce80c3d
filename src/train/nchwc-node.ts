/**
 * onnxruntime's NCHWc channel block on this machine: MLAS picks it from the CPU (16 with AVX-512, 8 with AVX2)
 * and the filters of its NCHWc convs are laid out in blocks of it (ops/depthwise-nchwc.ts), so a graph that
 * uses those kernels directly must be built for the machine that runs it. Found once per process by two probe
 * graphs: ReorderInput pads 4 channels up to one block, and a 3×3 depthwise NCHWc conv of ones must then give
 * the sums a plain convolution gives. Undefined where either fails: the caller keeps plain Conv.
 */
import { Graph } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/onnx.ts";
import { depthwiseConvsAsNchwc, NCHWC_DOMAIN } from "../ops/depthwise-nchwc.ts";
import { float32 } from "../tensor/host-tensor.ts";
import { createSession } from "../runtime/session-node.ts";

let probed: Promise<number | undefined> | undefined;

export function nchwcBlockSize(): Promise<number | undefined> {
  probed ??= probe().catch(() => undefined);
  return probed;
}

async function probe(): Promise<number | undefined> {
  const block = await paddedChannels(4);
  return block >= 4 && (await nchwcBlockWorks(block)) ? block : undefined;
}

/** The channel count ReorderInput gives `channels` channels: rounded up to whole blocks. */
async function paddedChannels(channels: number): Promise<number> {
  const g = new Graph("nchwc_block");
  const x = g.input("x", "float32", [1, channels, 1, 1]);
  const y = g.fresh("blocked");
  g.nodes.push({
    op: "ReorderInput",
    domain: NCHWC_DOMAIN,
    inputs: [x],
    outputs: [y],
    attrs: {},
    name: "n_y",
  });
  g.dtypes.set(y, "float32");
  g.output(y, [1, "c", 1, 1]);
  const out = await run(g, { x: float32([1, channels, 1, 1], new Float32Array(channels)) });
  return out.dims[1];
}

/**
 * Whether a 3×3 "same" depthwise conv of ones over a 3×3 map of ones, written for channel blocks of `block`,
 * gives a plain convolution's sums (9 at the centre, 4 at the corners) here.
 */
export async function nchwcBlockWorks(block: number): Promise<boolean> {
  const c = 4;
  const g = new Graph("nchwc_conv");
  const x = g.input("x", "float32", [1, c, 3, 3]);
  const w = g.input("w", "float32", [c, 1, 3, 3]);
  g.output(g.op("Conv", [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: c }, "y"));
  if (depthwiseConvsAsNchwc(g, block) !== 1) return false;
  const ones = (dims: number[]) => float32(dims, new Float32Array(dims.reduce((a, b) => a * b)).fill(1));
  const y = await run(g, { x: ones([1, c, 3, 3]), w: ones([c, 1, 3, 3]) }).catch(() => undefined);
  const expected = [4, 6, 4, 6, 9, 6, 4, 6, 4];
  const values = y?.data as Float32Array | undefined;
  return values?.length === c * 9 && values.every((v, i) => v === expected[i % 9]);
}

async function run(g: Graph, feeds: Record<string, ReturnType<typeof float32>>) {
  const session = await createSession(toOnnxBytes(g), { threads: 1 });
  try {
    return Object.values(await session.run(feeds))[0];
  } finally {
    await session.release();
  }
}
