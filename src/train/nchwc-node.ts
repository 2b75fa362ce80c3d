/**
 * onnxruntime's NCHWc channel block on this machine: MLAS picks it from the CPU (16 with AVX-512, 8 with AVX2)
 * and the filters of its NCHWc convs are laid out in blocks of it (ops/depthwise-nchwc.ts), so a graph that
 * uses those kernels directly must be built for the machine that runs it. Found once per process by two probe
 * graphs: ReorderInput pads 4 channels up to one block, and a small depthwise conv written for that block must
 * then give exactly the direct sums (nchwcBlockWorks). Undefined where either fails: the caller keeps plain Conv.
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
 * Whether a 3×3 "same" depthwise conv with a bias, written for channel blocks of `block`, gives here exactly what
 * the direct sum gives. Small integers keep every sum exact; distinct values per channel and tap catch a filter
 * laid out in the wrong order, and 12 channels (not a whole block of 8 or 16) the padding.
 */
export async function nchwcBlockWorks(block: number): Promise<boolean> {
  const [c, h, w] = [12, 4, 5];
  const g = new Graph("nchwc_conv");
  const ins = [
    g.input("x", "float32", [1, c, h, w]),
    g.input("w", "float32", [c, 1, 3, 3]),
    g.input("b", "float32", [c]),
  ];
  g.output(g.op("Conv", ins, { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: c }, "y"));
  if (depthwiseConvsAsNchwc(g, block) !== 1) return false;
  const x = Float32Array.from({ length: c * h * w }, (_, i) => (i % 7) - 3);
  const k = Float32Array.from({ length: c * 9 }, (_, i) => (i % 5) - 2 + Math.floor(i / 9));
  const b = Float32Array.from({ length: c }, (_, i) => i);
  const out = await run(g, {
    x: float32([1, c, h, w], x),
    w: float32([c, 1, 3, 3], k),
    b: float32([c], b),
  }).catch(() => undefined);
  const y = out?.data as Float32Array | undefined;
  if (y?.length !== c * h * w) return false;
  for (let ch = 0; ch < c; ch++)
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++) {
        let sum = b[ch];
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const [rr, qq] = [r + i - 1, q + j - 1];
            if (rr >= 0 && rr < h && qq >= 0 && qq < w)
              sum += x[(ch * h + rr) * w + qq] * k[ch * 9 + i * 3 + j];
          }
        if (y[(ch * h + r) * w + q] !== sum) return false;
      }
  return true;
}

async function run(g: Graph, feeds: Record<string, ReturnType<typeof float32>>) {
  const session = await createSession(toOnnxBytes(g), { threads: 1 });
  try {
    return Object.values(await session.run(feeds))[0];
  } finally {
    await session.release();
  }
}
