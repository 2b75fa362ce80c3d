// A short fixed-seed fuzz campaign over every format: no case may crash, hang or blow up. The full campaigns
// are `npm run fuzz`; this one keeps the suite honest in well under 30 s.
import assert from "node:assert/strict";
import { test } from "node:test";
import { KINDS, runCampaign } from "../../fuzz/campaign.ts";
import { mutant } from "../../fuzz/mutate.ts";

test("mutants are a function of the seed and the case number", () => {
  const seeds = [
    Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
    new TextEncoder().encode('{"a": [1, 2]}'),
  ];
  for (let i = 0; i < 300; i++) {
    const target = i % 2 === 0 ? "hf-config" : "safetensors";
    assert.deepEqual(mutant(seeds, 7, i, target), mutant(seeds, 7, i, target));
  }
  const a = mutant(seeds, 7, 3, "hf-config");
  const others = [1, 2, 4, 5].map((i) => mutant(seeds, 7, i, "hf-config").how);
  assert.ok(
    others.some((how) => how !== a.how),
    "different cases mutate differently",
  );
});

test("a fixed-seed campaign ends every case as an accepted file or a clean one-line error", async () => {
  const results = await runCampaign({
    targets: ["safetensors", "pth", "hf-config", "image"],
    seed: 20260,
    cases: 10,
    timeoutMs: 20_000,
    maxRssBytes: 1024 * 2 ** 20,
    heapMb: 512,
  });
  for (const r of results) {
    assert.equal(r.cases, 10);
    assert.equal(
      KINDS.reduce((n, k) => n + r.counts[k], 0),
      10,
    );
    assert.deepEqual(r.findings, [], `${r.target}: ${JSON.stringify(r.findings)}`);
    assert.ok(r.counts["clean error"] > 0, `${r.target}: mutants should be refused sometimes`);
  }
});
