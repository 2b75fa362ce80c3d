import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LABELS_DIR, loadLabels } from "../../src/pretrained/labels-node.ts";
import { PRETRAINED } from "../../src/pretrained/registry.ts";
import { fixture } from "../fixtures.ts";

test("the shipped label lists are the reference lists, byte for byte", () => {
  for (const file of [
    "README.txt",
    "imagenet1k_classes.txt",
    "imagenet1k_synsets.txt",
    "imagenet1k_lemmas.txt",
    "imagenet22k_synsets.txt",
    "imagenet22k_lemmas.txt",
  ]) {
    assert.deepEqual(readFileSync(join(LABELS_DIR, file)), readFileSync(fixture("labels", file)), file);
  }
});

test("in1k labels: 1000 classes in the standard order", () => {
  const l = loadLabels("in1k");
  assert.equal(l.names.length, 1000);
  assert.equal(new Set(l.names).size, 1000, "torchvision's short names are unique");
  assert.equal(l.names[0], "tench");
  assert.equal(l.synsets[0], "n01440764");
  assert.equal(l.lemmas[0], "tench, Tinca tinca");
  // Sorted wnids are the ILSVRC class order.
  assert.deepEqual([...l.synsets].sort(), l.synsets);
  assert.equal(loadLabels("in1k"), l, "cached");
});

test("in22k labels: 21841 classes, names are the lemmas", () => {
  const l = loadLabels("in22k");
  assert.equal(l.synsets.length, 21841);
  assert.equal(l.names.length, 21841);
  assert.equal(l.synsets[0], "n00004475");
  assert.equal(l.names[0], "organism, being");
  // Every in22k head in the table can be labelled.
  for (const e of PRETRAINED) if (e.labels === "in22k") assert.equal(e.numClasses, l.names.length);
});

test("the label assets stay small", () => {
  let total = 0;
  for (const f of ["imagenet1k_classes.txt", "imagenet22k_lemmas.txt", "imagenet22k_synsets.txt"]) {
    total += statSync(join(LABELS_DIR, f)).size;
  }
  assert.ok(total < 1_000_000, `${total} bytes`);
});
