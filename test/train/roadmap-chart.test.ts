// The Figure-2-style chart: well-formed SVG with one bar per step, the paper's labels and groups, hatched side
// branches, GFLOPs beside every bar; the HTML page embeds it with no external resource.
import assert from "node:assert/strict";
import { test } from "node:test";
import { roadmapTable } from "../../src/models/roadmap.ts";
import {
  type ChartRow,
  figureLabel,
  roadmapChartHtml,
  roadmapChartSvg,
} from "../../src/train/roadmap-chart.ts";

/** Tags nest and close, attributes are quoted, entities are the XML five: enough for this generator's output. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const text = xml.replace(/^<!doctype html>\n/i, "");
  for (const m of text.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&[^;\s]*;?/g)) {
    const [all, close, name, , selfClose] = m;
    if (all === "<") assert.fail(`stray '<' at ${m.index}: ${text.slice(m.index, m.index! + 40)}`);
    if (all.startsWith("&")) {
      assert.match(all, /^&(lt|gt|amp|quot|apos);$/, `bad entity at ${m.index}`);
      continue;
    }
    if (selfClose || name === "meta") continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> at ${m.index} closes the wrong tag`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], "unclosed tags");
}

const rows: ChartRow[] = roadmapTable("r50").map((r, i) => ({
  step: r.step,
  accuracy: 85 + i * 0.3,
  gflops: r.macs / 1e9,
  sideBranch: r.sideBranch,
}));

test("chart SVG: well-formed, one labelled bar per step in order, GFLOPs beside each", () => {
  const svg = roadmapChartSvg(rows, { title: "A & B <test>", xLabel: "top-1 (%)" });
  assertWellFormed(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.includes("A &amp; B &lt;test&gt;"));
  const bars = [
    ...svg.matchAll(/<rect class="bar" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"[^>]*fill="([^"]+)"/g),
  ];
  assert.equal(bars.length, rows.length);
  const labels = [...svg.matchAll(/<text class="label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(
    labels,
    rows.map((r) => figureLabel(r.step).replace(/&/g, "&amp;")),
  );
  assert.equal(labels[0], "ResNet-50");
  assert.equal(labels.at(-1), "sep. d.s. conv (ConvNeXt-T)");
  const gflops = [...svg.matchAll(/<text class="gflops"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(
    gflops,
    rows.map((r) => r.gflops.toFixed(2)),
  );
  // Top to bottom in the rows' order; longer bars for higher accuracy; hatched exactly for the side branches.
  const ys = bars.map((b) => Number(b[2]));
  assert.ok(ys.every((y, i) => i === 0 || y > ys[i - 1]));
  const widths = bars.map((b) => Number(b[3]));
  assert.ok(widths.every((w, i) => i === 0 || w > widths[i - 1]));
  assert.deepEqual(
    bars.map((b) => b[4] === "url(#hatch)"),
    rows.map((r) => r.sideBranch === true),
  );
  const groups = [...svg.matchAll(/<text class="group"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(groups, [
    "Macro Design",
    "ResNeXt",
    "Inverted Bottleneck",
    "Large Kernel",
    "Micro Design",
  ]);
});

test("chart SVG: explicit labels and groups win; bad rows get a clear error", () => {
  const svg = roadmapChartSvg([
    { step: "a", label: "first", group: "G", accuracy: 50, gflops: 1 },
    { step: "b", label: "second", group: "G", accuracy: 60, gflops: 2 },
    { step: "resnet50", group: null, accuracy: 55, gflops: 3 },
  ]);
  assertWellFormed(svg);
  assert.equal([...svg.matchAll(/class="bracket"/g)].length, 1);
  assert.ok(svg.includes(">first<") && svg.includes(">second<") && svg.includes(">ResNet-50<"));
  assert.throws(() => roadmapChartSvg([]), /chart: no rows to draw/);
  assert.throws(
    () => roadmapChartSvg([{ step: "x", accuracy: Number.NaN, gflops: 1 }]),
    /chart: row 'x' has accuracy NaN/,
  );
});

test("chart HTML: self-contained page with the chart, the table and the settings", () => {
  const html = roadmapChartHtml({
    title: "Roadmap <run>",
    intro: ["measured"],
    chart: rows,
    table: { header: ["step", "top-1"], rows: rows.map((r) => [r.step, r.accuracy.toFixed(2)]) },
    settings: { resolution: 32, note: "a<b" },
  });
  assertWellFormed(html);
  assert.match(html, /^<!doctype html>/);
  assert.equal([...html.matchAll(/<svg /g)].length, 1);
  assert.equal([...html.matchAll(/<tr>/g)].length, rows.length + 1);
  assert.ok(html.includes("&quot;resolution&quot;: 32") && html.includes("a&lt;b"));
  // No external resources: the only URL is the SVG namespace.
  assert.deepEqual(
    [...html.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0]),
    ["http://www.w3.org/2000/svg"],
  );
  assert.ok(!/<(script|link|img)\b/.test(html));
});
