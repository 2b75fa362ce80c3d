// Which class names a model gets: the rules of src/api/labels.ts, in order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseLabels, metadataLabels } from "../../src/api/labels.ts";
import { loadLabels } from "../../src/pretrained/labels-node.ts";

const loadSet = (set: "in1k" | "in22k") => loadLabels(set).names;

test("1000 and 21841 classes get the ImageNet names; other counts 'class i'", () => {
  const in1k = chooseLabels({ numClasses: 1000, loadSet });
  assert.equal(in1k.source, "in1k");
  assert.deepEqual(in1k.names, loadLabels("in1k").names);
  const in22k = chooseLabels({ numClasses: 21841, loadSet });
  assert.equal(in22k.source, "in22k");
  assert.equal(in22k.names.length, 21841);
  const ten = chooseLabels({ numClasses: 10, loadSet });
  assert.equal(ten.source, "generic");
  assert.deepEqual(ten.names.slice(0, 2), ["class 0", "class 1"]);
});

test("metadata labels come first, then the pretrained set, then the class count, then HF id2label", () => {
  const own = Array.from({ length: 1000 }, (_, i) => `thing ${i}`);
  const fromMeta = chooseLabels({ numClasses: 1000, loadSet, metadata: { labels: JSON.stringify(own) } });
  assert.equal(fromMeta.source, "metadata");
  assert.equal(fromMeta.names[7], "thing 7");
  const given = chooseLabels({ numClasses: 2, given: ["p", "q"], metadata: { labels: '["x","y"]' } });
  assert.deepEqual(given, { names: ["p", "q"], source: "given" });
  const hf = chooseLabels({ numClasses: 2, loadSet, hfLabels: ["cat", "dog"] });
  assert.deepEqual(hf, { names: ["cat", "dog"], source: "hf-config" });
  // transformers' placeholders are not names.
  assert.equal(chooseLabels({ numClasses: 2, hfLabels: ["LABEL_0", "LABEL_1"] }).source, "generic");
  // A pretrained entry's set applies only when its class count matches the head.
  const entry = { labels: "in22k" as const, numClasses: 21841 };
  assert.equal(chooseLabels({ numClasses: 21841, loadSet, pretrained: entry }).source, "in22k");
  assert.equal(chooseLabels({ numClasses: 1000, loadSet, pretrained: entry }).source, "in1k");
});

test("bad label lists are one-line errors naming the checkpoint", () => {
  assert.throws(
    () => chooseLabels({ numClasses: 3, metadata: { labels: '["a","b"]' }, source: "m.safetensors" }),
    /^Error: m\.safetensors: metadata 'labels' has 2 names but the model has 3 classes$/,
  );
  assert.throws(
    () => metadataLabels({ labels: "[1,2]" }, "m"),
    /m: metadata 'labels' must be a JSON list of strings/,
  );
  assert.throws(() => metadataLabels({ labels: "{" }, "m"), /m: metadata 'labels' is not valid JSON/);
  assert.equal(metadataLabels({}), undefined);
});

test("names that would forge output lines, or are not strings, are refused wherever they come from", () => {
  const forged = JSON.stringify(["coat", "bag 0.99\nshirt"]);
  assert.throws(
    () => chooseLabels({ numClasses: 2, metadata: { labels: forged }, source: "m.safetensors" }),
    /^Error: m\.safetensors: metadata 'labels': name 1 is not a string of printable characters$/,
  );
  assert.throws(
    () => chooseLabels({ numClasses: 2, hfLabels: ["cat", "\u001b[2Jdog"] }),
    /config\.json id2label: name 1 is not a string of printable characters/,
  );
  assert.throws(
    () => chooseLabels({ numClasses: 2, given: "ab" as unknown as string[] }),
    /the label list given must be a list of strings, got string/,
  );
  assert.throws(
    () => chooseLabels({ numClasses: 2, given: ["a", null as unknown as string] }),
    /name 1 is not a string/,
  );
  assert.deepEqual(chooseLabels({ numClasses: 2, given: ["T-shirt/top", "Ankle boot"] }).names, [
    "T-shirt/top",
    "Ankle boot",
  ]);
});
