/**
 * The roadmap's results drawn like Figure 2 of "A ConvNet for the 2020s": the steps from top to bottom, one
 * horizontal accuracy bar each, the step's GFLOPs written beside it, brackets naming the paper's groups of
 * changes (macro design, ResNeXt, …) on the left, and hatched bars for the changes the paper did not adopt
 * (the kernel-size side branches). Pure functions: rows in, an SVG string (or a self-contained HTML page) out.
 *
 * Hand-written SVG rather than a charting library: the figure is a few dozen rectangles and labels, and the
 * output must be a static file with no script that renders the same in a browser, on GitHub and in a test.
 */

export interface ChartRow {
  /** Step key, e.g. "patchify". */
  step: string;
  /** Row label; default the paper's Figure 2 label for known steps, else the key. */
  label?: string;
  /** Group bracket on the left; default the paper's group for known steps. */
  group?: string | null;
  /** Top-1 accuracy in percent. */
  accuracy: number;
  /** Written beside the bar. */
  gflops: number;
  /** A change the paper tried and did not adopt: drawn hatched. */
  sideBranch?: boolean;
}

export interface ChartOptions {
  title?: string;
  subtitle?: string;
  /** x-axis caption. */
  xLabel?: string;
  /** Caption over the GFLOPs column. */
  flopsHeader?: string;
  /** Axis range in percent; default a range around the data, as the paper's 78–82. */
  xMin?: number;
  xMax?: number;
}

/** Figure 2's row labels. */
const FIGURE_LABELS: Record<string, string> = {
  resnet50: "ResNet-50",
  resnet200: "ResNet-200",
  stage_ratio: "stage ratio",
  stage_ratio_w84: "stage ratio",
  patchify: "“patchify” stem",
  depthwise: "depth conv",
  width96: "width ↑",
  width128: "width ↑",
  inverted: "inverting dims",
  move_up_dw: "move ↑ d. conv",
  kernel5: "kernel sz. → 5",
  kernel7: "kernel sz. → 7",
  kernel9: "kernel sz. → 9",
  kernel11: "kernel sz. → 11",
  gelu: "ReLU → GELU",
  fewer_acts: "fewer activations",
  fewer_norms: "fewer norms",
  bn_to_ln: "BN → LN",
  convnext_t: "sep. d.s. conv (ConvNeXt-T)",
  convnext_b: "sep. d.s. conv (ConvNeXt-B)",
};

/** Figure 2's brackets. */
const FIGURE_GROUPS: Record<string, string> = {
  stage_ratio: "Macro Design",
  stage_ratio_w84: "Macro Design",
  patchify: "Macro Design",
  depthwise: "ResNeXt",
  width96: "ResNeXt",
  width128: "ResNeXt",
  inverted: "Inverted Bottleneck",
  move_up_dw: "Large Kernel",
  kernel5: "Large Kernel",
  kernel7: "Large Kernel",
  kernel9: "Large Kernel",
  kernel11: "Large Kernel",
  gelu: "Micro Design",
  fewer_acts: "Micro Design",
  fewer_norms: "Micro Design",
  bn_to_ln: "Micro Design",
  convnext_t: "Micro Design",
  convnext_b: "Micro Design",
};

export function figureLabel(step: string): string {
  return FIGURE_LABELS[step] ?? step;
}

export function figureGroup(step: string): string | null {
  return FIGURE_GROUPS[step] ?? null;
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`,
  );
}

/** A tick step of 1, 2 or 5 × 10^k giving 4–10 ticks. */
function tickStep(span: number): number {
  const raw = span / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => span / s <= 10) ?? 10 * p;
}

function axisRange(rows: ChartRow[], opts: ChartOptions): [number, number, number] {
  const accs = rows.map((r) => r.accuracy);
  const lo0 = opts.xMin ?? Math.min(...accs);
  const hi0 = opts.xMax ?? Math.max(...accs);
  const span = Math.max(hi0 - lo0, 1);
  const step = tickStep(span * 1.3);
  const lo = opts.xMin ?? Math.max(0, Math.floor((lo0 - span * 0.15) / step) * step);
  const hi = opts.xMax ?? Math.min(100, Math.ceil((hi0 + span * 0.1) / step) * step);
  if (!(hi > lo)) throw new Error(`chart axis: empty range ${lo}..${hi}`);
  return [lo, hi, step];
}

const fmt = (v: number, digits: number) => v.toFixed(digits);

/** The Figure-2-style chart as a standalone SVG document. */
export function roadmapChartSvg(rows: ChartRow[], opts: ChartOptions = {}): string {
  if (rows.length === 0) throw new Error("chart: no rows to draw");
  for (const r of rows) {
    if (!Number.isFinite(r.accuracy) || !Number.isFinite(r.gflops))
      throw new Error(`chart: row '${r.step}' has accuracy ${r.accuracy} and GFLOPs ${r.gflops}`);
  }
  const [lo, hi, step] = axisRange(rows, opts);
  const rowH = 26;
  const barH = 17;
  const groupW = 150;
  const labelW = 200;
  const plotW = 380;
  const flopsW = 100;
  const top = opts.subtitle ? 66 : 48;
  const plotX = groupW + labelW;
  const plotH = rows.length * rowH;
  const width = plotX + plotW + flopsW + 24;
  const height = top + plotH + 56;
  const x = (acc: number) => plotX + (plotW * (Math.min(Math.max(acc, lo), hi) - lo)) / (hi - lo);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    "<defs>",
    '<pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">',
    '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#7a9cc6" stroke-width="3"/>',
    "</pattern>",
    "</defs>",
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  if (opts.title)
    out.push(
      `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title)}</text>`,
    );
  if (opts.subtitle)
    out.push(
      `<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#444444">${escapeXml(opts.subtitle)}</text>`,
    );

  // Grid and x axis.
  const digits = step < 1 ? 1 : 0;
  for (let t = lo; t <= hi + 1e-9; t += step) {
    const tx = fmt(x(t), 1);
    out.push(
      `<line x1="${tx}" y1="${top}" x2="${tx}" y2="${top + plotH}" stroke="#dddddd" stroke-width="1"/>`,
      `<text x="${tx}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${fmt(t, digits)}</text>`,
    );
  }
  out.push(
    `<line x1="${plotX}" y1="${top + plotH}" x2="${plotX + plotW}" y2="${top + plotH}" stroke="#333333"/>`,
    `<text x="${plotX + plotW / 2}" y="${top + plotH + 36}" text-anchor="middle">${escapeXml(opts.xLabel ?? "Top-1 accuracy (%)")}</text>`,
    `<text x="${plotX + plotW + flopsW / 2}" y="${top - 8}" text-anchor="middle" font-size="11" fill="#444444">${escapeXml(opts.flopsHeader ?? "GFLOPs")}</text>`,
  );

  // Bars.
  rows.forEach((r, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const mid = top + i * rowH + rowH / 2 + 4;
    const end = x(r.accuracy);
    const fill = r.sideBranch ? "url(#hatch)" : "#7a9cc6";
    out.push(
      `<g class="step" data-step="${escapeXml(r.step)}">`,
      `<text class="label" x="${plotX - 8}" y="${mid}" text-anchor="end">${escapeXml(r.label ?? figureLabel(r.step))}</text>`,
      `<rect class="bar" x="${plotX}" y="${y}" width="${fmt(end - plotX, 1)}" height="${barH}" fill="${fill}" stroke="#4a6e9c" stroke-width="1"/>`,
      `<text class="accuracy" x="${fmt(end + 4, 1)}" y="${mid}" font-size="11">${fmt(r.accuracy, 2)}</text>`,
      `<text class="gflops" x="${plotX + plotW + flopsW / 2}" y="${mid}" text-anchor="middle" font-size="12">${fmt(r.gflops, 2)}</text>`,
      "</g>",
    );
  });

  // Group brackets: one per run of consecutive rows with the same group.
  let i = 0;
  while (i < rows.length) {
    const grp = rows[i].group === undefined ? figureGroup(rows[i].step) : rows[i].group;
    let j = i + 1;
    const groupOf = (r: ChartRow) => (r.group === undefined ? figureGroup(r.step) : r.group);
    while (j < rows.length && grp !== null && groupOf(rows[j]) === grp) j++;
    if (grp) {
      const y0 = top + i * rowH + 4;
      const y1 = top + j * rowH - 4;
      const bx = groupW - 6;
      out.push(
        `<path class="bracket" d="M${bx + 4},${y0} H${bx} V${y1} H${bx + 4}" fill="none" stroke="#333333"/>`,
        `<text class="group" x="${bx - 6}" y="${(y0 + y1) / 2 + 4}" text-anchor="end" font-size="12" font-style="italic">${escapeXml(grp)}</text>`,
      );
    }
    i = j;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

export interface RoadmapPage {
  title: string;
  /** Paragraphs of plain text under the title. */
  intro?: string[];
  chart: ChartRow[];
  chartOptions?: ChartOptions;
  table: { header: string[]; rows: string[][] };
  /** Written out as JSON. */
  settings: unknown;
}

/** A self-contained HTML page (no external resources, no script): title, chart, table, settings. */
export function roadmapChartHtml(page: RoadmapPage): string {
  const cells = (tag: string, row: string[]) =>
    `<tr>${row.map((c) => `<${tag}>${escapeXml(c)}</${tag}>`).join("")}</tr>`;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${escapeXml(page.title)}</title>`,
    "<style>",
    "body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }",
    "table { border-collapse: collapse; font-size: 13px; } th, td { border: 1px solid #ccc; padding: 3px 8px; }",
    "td { text-align: right; } td:first-child, td:nth-child(2) { text-align: left; }",
    "pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }",
    "</style>",
    "</head>",
    "<body>",
    `<h1>${escapeXml(page.title)}</h1>`,
    ...(page.intro ?? []).map((p) => `<p>${escapeXml(p)}</p>`),
    roadmapChartSvg(page.chart, page.chartOptions).trimEnd(),
    "<h2>Table</h2>",
    "<table>",
    cells("th", page.table.header),
    ...page.table.rows.map((r) => cells("td", r)),
    "</table>",
    "<h2>Settings</h2>",
    `<pre>${escapeXml(JSON.stringify(page.settings, null, 2))}</pre>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
