// `convnext roadmap --json`: one object per step with the documented keys and values (docs/roadmap.md,
// reference.md §3), and a one-line refusal of an unknown regime.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runRoadmapCommand } from "./run-roadmap-command.ts";

const run = runRoadmapCommand;

test("roadmap --json lists Table 10 with counts and the paper's numbers", async () => {
  const rows = JSON.parse(await run(["roadmap", "--json"]));
  assert.equal(rows.length, 16);
  for (const r of rows) {
    assert.deepEqual(Object.keys(r).sort(), [
      "gmacs",
      "macs",
      "paper_gflops",
      "paper_top1",
      "params",
      "step",
    ]);
    assert.ok(Number.isInteger(r.macs));
  }
  assert.deepEqual(rows[0], {
    step: "resnet50",
    params: 25_557_032,
    macs: 4_089_184_256,
    gmacs: 4.0892,
    paper_gflops: 4.09,
    paper_top1: 78.82,
  });
  const last = rows[rows.length - 1];
  assert.deepEqual(
    [last.step, last.params, last.macs, last.paper_gflops, last.paper_top1],
    ["convnext_t", 28_589_128, 4_455_531_264, 4.49, 81.97],
  );
});

test("roadmap --regime r200 --json ends at ConvNeXt-B; an unknown regime is refused", async () => {
  const rows = JSON.parse(await run(["roadmap", "--regime", "r200", "--json"]));
  assert.deepEqual(
    [rows[0].step, rows.at(-1).step, rows.at(-1).params],
    ["resnet200", "convnext_b", 88_591_464],
  );
  await assert.rejects(
    run(["roadmap", "--regime", "r300", "--json"]),
    /--regime must be one of r50, r200, got 'r300'/,
  );
});
