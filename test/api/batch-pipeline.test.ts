// The streaming pipeline: order, per-item failures, model failures, and decoding ahead while a batch runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyTimings, runPipeline } from "../../src/api/batch-pipeline.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("results come in input order; failed decodes and prepares are items, the rest still run", async () => {
  const items = [1, 2, 3, 4, 5, 6, 7];
  const batches: number[][] = [];
  const timings = emptyTimings();
  const out = [];
  for await (const r of runPipeline(items, {
    batch: 3,
    timings,
    decode: async (v) => {
      await tick(7 - v); // later items finish first
      if (v === 2) throw new Error("item 2: corrupt");
      return v * 10;
    },
    prepare: (d) => {
      if (d === 60) throw new Error("item 6: too small");
      return d + 1;
    },
    run: async (batch) => {
      batches.push(batch);
      return batch.map((x) => x * 2);
    },
  })) {
    out.push(r);
  }
  assert.deepEqual(
    out.map((r) => r.index),
    [0, 1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    out.map((r) => (r.ok ? r.out : r.error.message)),
    [22, "item 2: corrupt", 62, 82, 102, "item 6: too small", 142],
  );
  assert.deepEqual(batches, [[11, 31], [41, 51], [71]]);
  assert.equal(timings.items, 7);
  assert.equal(timings.failed, 2);
});

test("a model failure is thrown, not reported per item", async () => {
  const run = async () => {
    for await (const _ of runPipeline([1, 2], {
      batch: 2,
      decode: async (v) => v,
      prepare: (v) => v,
      run: async () => {
        throw new Error("model exploded");
      },
    })) {
      // nothing
    }
  };
  await assert.rejects(run, /model exploded/);
});

test("overlap: the next batch decodes during prepare (done before the run), during the run, or after it", async () => {
  for (const overlap of ["prepare", "model", "none"] as const) {
    const log: string[] = [];
    for await (const _ of runPipeline([0, 1, 2, 3, 4, 5], {
      batch: 2,
      overlap,
      decode: async (v) => {
        log.push(`decode ${v}`);
        await tick(v === 2 ? 3 : 1);
        log.push(`decoded ${v}`);
        return v;
      },
      prepare: (v) => {
        log.push(`prepare ${v}`);
        return v;
      },
      run: async (batch) => {
        log.push(`run ${batch[0]}`);
        await tick(10);
        log.push(`done ${batch[0]}`);
        return batch;
      },
    })) {
      // consume
    }
    const at = (s: string) => log.indexOf(s);
    // Batch 1's decode starts before batch 0 is prepared, except without overlap.
    assert.equal(at("decode 2") < at("prepare 0"), overlap !== "none", `${overlap}: ${log.join(", ")}`);
    // In "prepare" mode it has finished before batch 0 runs; in "model" mode it runs alongside.
    assert.equal(at("decoded 2") < at("run 0"), overlap === "prepare", `${overlap}: ${log.join(", ")}`);
    if (overlap === "model") assert.ok(at("decoded 2") < at("done 0"));
    if (overlap === "none") assert.ok(at("decode 2") > at("done 0"));
  }
});
