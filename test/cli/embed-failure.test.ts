// `convnext embed` with an input named on the command line that cannot be read: exit 1 and no output file
// (neither format), no temp file left; an output that existed before is left as it was.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fixture } from "../fixtures.ts";
import { convnext } from "./run-cli.ts";
import { tempDir } from "../helpers.ts";

const tmp = tempDir("convnext-embed-fail-");

const V1_SMALL = fixture("models", "v1-small", "timm.safetensors");
const good = fixture("preprocess", "images", "chelsea.png");

test("embed writes no output when an input it was given fails", () => {
  const bad = join(tmp, "broken.png");
  writeFileSync(bad, "not an image");
  for (const name of ["emb.safetensors", "emb.jsonl"]) {
    const out = join(tmp, name);
    const r = convnext("embed", good, bad, "--weights", V1_SMALL, "--threads", "1", "--output", out);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /broken\.png/);
    assert.match(
      r.stderr,
      new RegExp(`${name.replace(".", "\\.")}: not written \\(1 named input\\(s\\) failed\\)`),
    );
    assert.deepEqual(readdirSync(tmp).sort(), ["broken.png"], name);
  }
  // An existing output keeps its contents.
  const kept = join(tmp, "kept.jsonl");
  writeFileSync(kept, "earlier\n");
  const r = convnext("embed", good, bad, "--weights", V1_SMALL, "--threads", "1", "--output", kept);
  assert.equal(r.code, 1);
  assert.equal(readFileSync(kept, "utf8"), "earlier\n");
});
