/**
 * Streams items through decode → prepare → model in batches, decoding the next batch ahead. Decoding (sharp /
 * libvips in Node, the browser's decoder) runs off the JavaScript thread; preparing (the PIL-exact resize) is
 * JavaScript; onnxruntime-node runs on the JavaScript thread with its own worker threads.
 * Overlap modes: "prepare" (default) decodes batch i+1 while batch i is prepared, and waits for it before the
 * model runs, so libvips threads never compete with onnxruntime's (spinning) threads for the cores; "model"
 * lets the decode run on into the model run; "none" decodes after the batch is done.
 * Measured (bench/classify.ts, ConvNeXt-T batch 8, 48 photos, 2 cores shared with other jobs at load 5-6):
 * 3.5 / 3.6 / 3.6 img/s for prepare / model / none, i.e. within noise: decoding is ~1.5% of the wall time
 * there (the model ~87%, the preprocessing ~9%), so the overlap can win little; "prepare" is the default
 * because it cannot slow the model down.
 *
 * An item whose decode or prepare fails is yielded as a failure and the stream goes on; a model failure
 * concerns the whole batch and is thrown.
 */

export interface PipelineTimings {
  /** Sum over batches of the time from starting a batch's decodes until all of them settled (overlapped). */
  decodeMs: number;
  /** Time spent waiting for decodes, i.e. the decode time the overlap did not hide. */
  decodeWaitMs: number;
  prepareMs: number;
  modelMs: number;
  /** First decode started → last result yielded (includes the consumer's time between yields). */
  wallMs: number;
  items: number;
  failed: number;
}

export function emptyTimings(): PipelineTimings {
  return { decodeMs: 0, decodeWaitMs: 0, prepareMs: 0, modelMs: 0, wallMs: 0, items: 0, failed: 0 };
}

export type Overlap = "prepare" | "model" | "none";

export interface PipelineSteps<In, Decoded, Prepared, Out> {
  decode: (item: In, index: number) => Promise<Decoded>;
  prepare: (decoded: Decoded, item: In, index: number) => Prepared;
  /** Runs one batch; returns one output per prepared item, in order. */
  run: (batch: Prepared[]) => Promise<Out[]>;
  batch: number;
  /**
   * When batch i+1 is decoded: "prepare" (default) while batch i is prepared, finishing before batch i's model
   * run; "model" while batch i is prepared and run; "none" after batch i is done.
   */
  overlap?: Overlap;
  /** Accumulates timings when given. */
  timings?: PipelineTimings;
}

export type PipelineResult<In, Out> =
  | { ok: true; item: In; index: number; out: Out }
  | { ok: false; item: In; index: number; error: Error };

interface DecodedBatch<Decoded> {
  settled: PromiseSettledResult<Decoded>[];
  start: number;
  end: number;
}

function decodeBatch<In, Decoded>(
  items: readonly In[],
  start: number,
  end: number,
  decode: (item: In, index: number) => Promise<Decoded>,
  timings: PipelineTimings,
): Promise<DecodedBatch<Decoded>> {
  const t0 = performance.now();
  const jobs = [];
  for (let i = start; i < end; i++) jobs.push(decode(items[i], i));
  return Promise.allSettled(jobs).then((settled) => {
    timings.decodeMs += performance.now() - t0;
    return { settled, start, end };
  });
}

export async function* runPipeline<In, Decoded, Prepared, Out>(
  items: readonly In[],
  steps: PipelineSteps<In, Decoded, Prepared, Out>,
): AsyncGenerator<PipelineResult<In, Out>> {
  const { batch, overlap = "prepare" } = steps;
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`batch size must be a positive integer, got ${batch}`);
  const t = steps.timings ?? emptyTimings();
  let mark = performance.now();
  const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
  const nextBatch = (start: number) =>
    start < items.length
      ? decodeBatch(items, start, Math.min(start + batch, items.length), steps.decode, t)
      : undefined;

  let pending = nextBatch(0);
  while (pending) {
    const w0 = performance.now();
    const { settled, start, end } = await pending;
    t.decodeWaitMs += performance.now() - w0;
    pending = overlap === "none" ? undefined : nextBatch(end);

    const p0 = performance.now();
    const failures = new Map<number, Error>();
    const prepared: { index: number; value: Prepared }[] = [];
    settled.forEach((s, k) => {
      const index = start + k;
      if (s.status === "rejected") {
        failures.set(index, asError(s.reason));
        return;
      }
      try {
        prepared.push({ index, value: steps.prepare(s.value, items[index], index) });
      } catch (e) {
        failures.set(index, asError(e));
      }
    });
    t.prepareMs += performance.now() - p0;

    if (overlap === "prepare" && pending) {
      // Keep libvips threads off the cores while onnxruntime runs (see the header).
      const w1 = performance.now();
      await pending;
      t.decodeWaitMs += performance.now() - w1;
    }
    let outs: Out[] = [];
    if (prepared.length > 0) {
      const m0 = performance.now();
      outs = await steps.run(prepared.map((p) => p.value));
      t.modelMs += performance.now() - m0;
      if (outs.length !== prepared.length) {
        throw new Error(`model returned ${outs.length} results for a batch of ${prepared.length}`);
      }
    }
    const outByIndex = new Map(prepared.map((p, k) => [p.index, outs[k]]));
    for (let index = start; index < end; index++) {
      const error = failures.get(index);
      t.items++;
      if (error) t.failed++;
      yield error
        ? { ok: false, item: items[index], index, error }
        : { ok: true, item: items[index], index, out: outByIndex.get(index) as Out };
    }
    if (overlap === "none") pending = nextBatch(end);
    const now = performance.now();
    t.wallMs += now - mark;
    mark = now;
  }
}
