// Training curves: the SVG is well-formed XML and its polylines hold the metrics' points, in order and to scale.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Curves,
  chartSeries,
  curvesFromMetrics,
  curvesHtml,
  curvesSvg,
  downsample,
  niceTicks,
} from "../../src/train/chart.ts";

/** Checks tag balance and attribute syntax (no XML parser is installed); returns the elements seen. */
function parseXml(text: string): { name: string; attrs: Record<string, string> }[] {
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot);[^"<&]*)*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    const between = text.slice(last, m.index);
    assert.ok(!/[<>]/.test(between), `stray markup before offset ${m.index}: ${between.slice(0, 40)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot);)/.test(between), `unescaped & before offset ${m.index}`);
    last = tag.lastIndex;
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      assert.ok(!(a[1] in attrs), `duplicate attribute ${a[1]} on <${name}>`);
      attrs[a[1]] = a[2];
    }
    elements.push({ name, attrs });
    if (!selfClosing) stack.push(name);
  }
  assert.equal(text.slice(last).trim(), "", "text after the root element");
  assert.deepEqual(stack, [], "unclosed elements");
  return elements;
}

const curves: Curves = {
  steps: Array.from({ length: 12 }, (_, i) => ({
    step: i + 1,
    loss: 2.3 * Math.exp(-i / 5) + 0.05 * (i % 3),
    accuracy: Math.min(1, 0.1 + 0.08 * i),
  })),
  epochs: [
    { epoch: 0, step: 6, trainLoss: 1.6, trainAccuracy: 0.3, val: { top1: 0.42, top5: 0.9, loss: 1.4 } },
    { epoch: 1, step: 12, trainLoss: 0.9, trainAccuracy: 0.7, val: { top1: 0.81, top5: 1, loss: 0.7 } },
  ],
};

function polyline(elements: ReturnType<typeof parseXml>, id: string): [number, number][] {
  const el = elements.find((e) => e.name === "polyline" && e.attrs["data-series"] === id);
  assert.ok(el, `no polyline ${id}`);
  return el.attrs.points.split(" ").map((p) => p.split(",").map(Number) as [number, number]);
}

/** The drawn points must be the data under one increasing x map and one decreasing y map (up is larger). */
function assertDrawn(drawn: [number, number][], data: [number, number][], what: string): void {
  assert.equal(drawn.length, data.length, `${what}: point count`);
  const affine = (k: 0 | 1) => {
    const [a, b] = [0, data.length - 1];
    const scale = (drawn[b][k] - drawn[a][k]) / (data[b][k] - data[a][k]);
    return (v: number) => drawn[a][k] + (v - data[a][k]) * scale;
  };
  const fx = affine(0);
  const fy = affine(1);
  assert.ok(drawn[1][0] > drawn[0][0], `${what}: x grows with the step`);
  data.forEach(([x, y], i) => {
    assert.ok(Math.abs(fx(x) - drawn[i][0]) < 0.02, `${what}: x of point ${i}`);
    assert.ok(Math.abs(fy(y) - drawn[i][1]) < 0.02, `${what}: y of point ${i}`);
  });
}

test("curves.svg is well-formed and its polylines are the metrics' points", () => {
  const svg = curvesSvg(curves);
  const elements = parseXml(svg);
  assert.equal(elements[0].name, "svg");
  assert.equal(elements[0].attrs.xmlns, "http://www.w3.org/2000/svg");
  assertDrawn(
    polyline(elements, "train-loss"),
    curves.steps.map((s) => [s.step, s.loss]),
    "train loss",
  );
  assertDrawn(
    polyline(elements, "train-accuracy"),
    curves.steps.map((s) => [s.step, 100 * s.accuracy]),
    "train accuracy",
  );
  assertDrawn(
    polyline(elements, "val-top1"),
    curves.epochs.map((e) => [e.step, 100 * e.val!.top1]),
    "validation top-1",
  );
  const valLoss = polyline(elements, "val-loss");
  assert.equal(valLoss.length, 2);
  // Loss falls, so the line rises on screen (smaller y is higher up); the val curve sits inside the panel.
  const train = polyline(elements, "train-loss");
  assert.ok(train[train.length - 1][1] > train[0][1]);
  const frame = elements.find((e) => e.name === "rect" && e.attrs.stroke)!.attrs;
  for (const [x, y] of [...train, ...valLoss]) {
    assert.ok(x >= Number(frame.x) - 0.01 && x <= Number(frame.x) + Number(frame.width) + 0.01);
    assert.ok(y >= Number(frame.y) - 0.01 && y <= Number(frame.y) + Number(frame.height) + 0.01);
  }
});

test("the HTML page embeds the chart and one table row per epoch; text is escaped", () => {
  const html = curvesHtml(curves, { title: "a <b> & c", refreshSeconds: 30 });
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<title>a &lt;b&gt; &amp; c<\/title>/);
  assert.match(html, /<meta http-equiv="refresh" content="30">/);
  const body = html.slice(html.indexOf("<svg"), html.indexOf("</svg>") + 6);
  parseXml(body);
  assert.equal((html.match(/<tr><td>/g) ?? []).length, 2);
  assert.match(html, /<td>81\.00%<\/td>/);
  assert.doesNotMatch(curvesHtml(curves), /refresh/);
});

test("metrics records become curves; long runs are bucket-averaged; non-finite losses are left out", () => {
  const records = [
    { kind: "setup" },
    { kind: "step", step: 1, epoch: 0, loss: 2, accuracy: 0.1 },
    { kind: "step", step: 2, epoch: 0, loss: Number.NaN, accuracy: 0.2 },
    { kind: "epoch", epoch: 0, step: 2, trainLoss: 2, trainAccuracy: 0.15, val: null },
  ];
  const c = curvesFromMetrics(records);
  assert.equal(c.steps.length, 2);
  assert.equal(c.epochs.length, 1);
  const s = chartSeries(c);
  assert.equal(s.loss[0].points.length, 1);
  assert.equal(s.loss.length, 1, "no validation curve without validation results");

  const pts = Array.from({ length: 1000 }, (_, i) => [i, i % 2] as [number, number]);
  const d = downsample(pts, 100);
  assert.equal(d.length, 100);
  assert.deepEqual(d[0], [4.5, 0.5]);
  assert.deepEqual(niceTicks(0.13, 0.87).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
});
