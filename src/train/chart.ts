/**
 * Training curves as a picture: loss and accuracy against the optimizer step, training per step and validation
 * per epoch, drawn as one standalone SVG (and an HTML page holding it with the epoch table). Pure string
 * building: a plotting library would be a browser dependency for two panels of polylines.
 */

export interface StepPoint {
  step: number;
  loss: number;
  accuracy: number;
}

export interface EpochPoint {
  /** 0-based epoch that ended. */
  epoch: number;
  /** Optimizer steps taken when it ended. */
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  val?: { top1: number; top5: number; loss: number } | null;
}

export interface Curves {
  steps: StepPoint[];
  epochs: EpochPoint[];
}

export interface ChartOptions {
  width?: number;
  height?: number;
  /** At most this many points per training curve (bucket means beyond it; default 600). */
  maxPoints?: number;
}

export interface Series {
  /** Stable id, written as `data-series`. */
  id: string;
  label: string;
  color: string;
  points: [number, number][];
  /** Draw a dot on every point (the sparse per-epoch curves). */
  dots?: boolean;
}

const COLORS = { train: "#1f77b4", val: "#d62728" };

/** Reads the records of a metrics.jsonl file (`{kind: "step" | "epoch", …}`; other kinds are ignored). */
export function curvesFromMetrics(records: readonly unknown[]): Curves {
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  for (const r of records) {
    if (typeof r !== "object" || r === null) continue;
    const o = r as Record<string, unknown>;
    if (o.kind === "step")
      steps.push({ step: Number(o.step), loss: Number(o.loss), accuracy: Number(o.accuracy) });
    else if (o.kind === "epoch") {
      epochs.push({
        epoch: Number(o.epoch),
        step: Number(o.step),
        trainLoss: Number(o.trainLoss),
        trainAccuracy: Number(o.trainAccuracy),
        val: (o.val as EpochPoint["val"]) ?? null,
      });
    }
  }
  return { steps, epochs };
}

/**
 * Means over equal runs of consecutive points, so a 300-epoch run stays a small file; the mean (not every
 * n-th point) keeps the curve's level honest where per-step losses are noisy.
 */
export function downsample(points: readonly [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points.map(([x, y]) => [x, y]);
  const out: [number, number][] = [];
  for (let b = 0; b < max; b++) {
    const lo = Math.floor((b * points.length) / max);
    const hi = Math.floor(((b + 1) * points.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (hi - lo), sy / (hi - lo)]);
  }
  return out;
}

/** A "nice" axis range and its ticks (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: first, hi: last, ticks };
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(0) : Number(v.toPrecision(4)).toString();
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One panel: frame, grid, tick labels, title and its series. */
function panel(box: Box, title: string, yLabel: string, series: Series[], xMax: number): string {
  const all = series.flatMap((s) => s.points);
  const ys = all.map((p) => p[1]);
  const y = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const x = niceTicks(0, Math.max(xMax, 1));
  const sx = (v: number) => box.x + ((v - x.lo) / (x.hi - x.lo)) * box.w;
  const sy = (v: number) => box.y + box.h - ((v - y.lo) / (y.hi - y.lo)) * box.h;
  const parts: string[] = [`<g class="panel" data-panel="${esc(title)}">`];
  parts.push(
    `<rect x="${fmt(box.x)}" y="${fmt(box.y)}" width="${fmt(box.w)}" height="${fmt(box.h)}" fill="#fff" stroke="#999"/>`,
  );
  for (const t of y.ticks) {
    parts.push(
      `<line x1="${fmt(box.x)}" x2="${fmt(box.x + box.w)}" y1="${fmt(sy(t))}" y2="${fmt(sy(t))}" stroke="#eee"/>`,
      `<text x="${fmt(box.x - 6)}" y="${fmt(sy(t) + 4)}" text-anchor="end">${esc(tickLabel(t))}</text>`,
    );
  }
  for (const t of x.ticks) {
    parts.push(
      `<line x1="${fmt(sx(t))}" x2="${fmt(sx(t))}" y1="${fmt(box.y)}" y2="${fmt(box.y + box.h)}" stroke="#eee"/>`,
      `<text x="${fmt(sx(t))}" y="${fmt(box.y + box.h + 16)}" text-anchor="middle">${esc(tickLabel(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${fmt(box.x + box.w / 2)}" y="${fmt(box.y - 8)}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<text x="${fmt(box.x + box.w / 2)}" y="${fmt(box.y + box.h + 34)}" text-anchor="middle">optimizer step</text>`,
    `<text transform="translate(${fmt(box.x - 44)} ${fmt(box.y + box.h / 2)}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  // The legend gets a backing so curves running under it stay readable.
  parts.push(
    `<rect x="${fmt(box.x + box.w - 126)}" y="${fmt(box.y + 2)}" width="122" height="${fmt(16 * series.length + 4)}" fill="#fff" fill-opacity="0.85"/>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map(([px, py]) => `${fmt(sx(px))},${fmt(sy(py))}`).join(" ");
    parts.push(
      `<polyline class="series" data-series="${esc(s.id)}" fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`,
    );
    if (s.dots) {
      for (const [px, py] of s.points)
        parts.push(`<circle cx="${fmt(sx(px))}" cy="${fmt(sy(py))}" r="2.5" fill="${s.color}"/>`);
    }
    const ly = box.y + 14 + 16 * i;
    parts.push(
      `<line x1="${fmt(box.x + box.w - 120)}" x2="${fmt(box.x + box.w - 100)}" y1="${fmt(ly - 4)}" y2="${fmt(ly - 4)}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${fmt(box.x + box.w - 94)}" y="${fmt(ly)}">${esc(s.label)}</text>`,
    );
  });
  parts.push("</g>");
  return parts.join("\n");
}

const finite = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]);

/** The series drawn: training loss/accuracy per step, validation loss/top-1 per epoch (accuracy in %). */
export function chartSeries(c: Curves, maxPoints = 600): { loss: Series[]; accuracy: Series[] } {
  const withVal = c.epochs.filter((e) => e.val);
  const trainLoss = downsample(
    c.steps.map((s) => [s.step, s.loss] as [number, number]).filter(finite),
    maxPoints,
  );
  const trainAcc = downsample(
    c.steps.map((s) => [s.step, 100 * s.accuracy] as [number, number]).filter(finite),
    maxPoints,
  );
  const loss: Series[] = [{ id: "train-loss", label: "train", color: COLORS.train, points: trainLoss }];
  const accuracy: Series[] = [
    { id: "train-accuracy", label: "train", color: COLORS.train, points: trainAcc },
  ];
  if (withVal.length) {
    loss.push({
      id: "val-loss",
      label: "validation",
      color: COLORS.val,
      dots: true,
      points: withVal.map((e) => [e.step, e.val!.loss] as [number, number]).filter(finite),
    });
    accuracy.push({
      id: "val-top1",
      label: "validation top-1",
      color: COLORS.val,
      dots: true,
      points: withVal.map((e) => [e.step, 100 * e.val!.top1] as [number, number]).filter(finite),
    });
  }
  return { loss, accuracy };
}

/** The two panels (loss, accuracy) as a standalone SVG document. */
export function curvesSvg(c: Curves, opts: ChartOptions = {}): string {
  const width = opts.width ?? 960;
  const height = opts.height ?? 340;
  const { loss, accuracy } = chartSeries(c, opts.maxPoints);
  const xMax = Math.max(0, ...c.steps.map((s) => s.step), ...c.epochs.map((e) => e.step));
  const margin = { left: 64, right: 16, top: 32, bottom: 48 };
  const panelWidth = (width - 2 * (margin.left + margin.right)) / 2;
  const box = (i: number): Box => ({
    x: margin.left + i * (panelWidth + margin.left + margin.right),
    y: margin.top,
    w: panelWidth,
    h: height - margin.top - margin.bottom,
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fafafa"/>`,
    panel(box(0), "loss", "cross-entropy", loss, xMax),
    panel(box(1), "accuracy", "%", accuracy, xMax),
    "</svg>",
  ].join("\n");
}

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "" : `${(100 * v).toFixed(2)}%`;
}

function num(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "" : v.toFixed(4);
}

/**
 * A self-contained HTML page: title, summary lines, the chart and the epoch table. `refreshSeconds` makes a
 * browser reload it while the run goes on.
 */
export function curvesHtml(
  c: Curves,
  opts: ChartOptions & { title?: string; summary?: string[]; refreshSeconds?: number } = {},
): string {
  const title = opts.title ?? "training curves";
  const rows = c.epochs.map(
    (e) =>
      `<tr><td>${e.epoch + 1}</td><td>${e.step}</td><td>${num(e.trainLoss)}</td><td>${pct(e.trainAccuracy)}</td>` +
      `<td>${num(e.val?.loss)}</td><td>${pct(e.val?.top1)}</td><td>${pct(e.val?.top5)}</td></tr>`,
  );
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    opts.refreshSeconds ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : "",
    `<title>${esc(title)}</title>`,
    "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-top:1em}" +
      "th,td{padding:3px 12px;text-align:right;border-bottom:1px solid #ddd}</style>",
    "</head><body>",
    `<h1>${esc(title)}</h1>`,
    ...(opts.summary ?? []).map((line) => `<p>${esc(line)}</p>`),
    curvesSvg(c, opts),
    "<table><thead><tr><th>epoch</th><th>step</th><th>train loss</th><th>train acc</th>" +
      "<th>val loss</th><th>val top-1</th><th>val top-5</th></tr></thead>",
    `<tbody>${rows.join("")}</tbody></table>`,
    "</body></html>",
    "",
  ].join("\n");
}
