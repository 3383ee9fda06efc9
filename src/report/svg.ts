// A small, dependency-free SVG line chart. Pure (no Node APIs), so the trainer can import it to
// write a loss curve into each run and the report can inline the same charts into HTML.
//
//   lineChart({ title, xLabel, yLabel, series: [{ name, points: [[x, y], ...] }], logY? }) → '<svg …>…</svg>'
//
// Robust to bad data: points whose x is not finite are dropped; a non-finite y (or y <= 0 on a log
// axis) breaks the line there (a diverged loss shows as a gap); a series with no usable points
// stays in the legend marked "(no data)"; a chart with no data at all draws its frame and says so.
// Long series are thinned to at most `maxPoints` per series, keeping each bucket's min and max.
// The output is well-formed XML (a standalone .svg file) and valid inline SVG in HTML.

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS colour; default: the palette colour for this series' index */
  color?: string;
  /** dashed line (e.g. validation next to training, or a secondary measure) */
  dash?: boolean;
  /** draw a dot at every point; default: when the series has at most 40 points */
  markers?: boolean;
  /** list in the legend (default true); e.g. false for a dashed twin explained in the title */
  legend?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ReadonlyArray<Series>;
  /** logarithmic y axis (non-positive y values are treated as missing) */
  logY?: boolean;
  /** pixel size of the whole image; default 720 × 360 (the legend adds rows below) */
  width?: number;
  height?: number;
  /** fix either end of an axis (e.g. [0, 1] for a rate); undefined ends follow the data */
  xDomain?: [number | undefined, number | undefined];
  yDomain?: [number | undefined, number | undefined];
  /** tick label formatters; default: compact numbers (1.5k, 2M, 0.25) */
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  /** thin each series to at most this many points (default 1500) */
  maxPoints?: number;
  /** prefix for ids inside the SVG (clip path); default derived from the title. Give distinct ones
   *  when two charts with the same title share one HTML page. */
  idPrefix?: string;
}

/** Okabe–Ito colour-blind-safe palette (yellow swapped for grey, which reads on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'];

export function colorFor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Escape text for XML/HTML content and double-quoted attributes; characters XML 1.0 forbids
 *  (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF) become U+FFFD. */
export function escapeXml(s: unknown): string {
  return String(s)
    .replace(
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      '\uFFFD',
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Compact number: 1234567 → "1.23M", 0.000123 → "1.23e-4", 42 → "42". */
export function formatCompact(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [u, s] of units) if (a >= u) return trimNum((v / u).toPrecision(digits)) + s;
  if (a < 1e-3) return v.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return trimNum(v.toPrecision(digits));
}

function trimNum(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** "Nice" ticks (1, 2, 5 × 10^k) covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  for (let i = start; i * step <= hi + step * 1e-9 && out.length < 100; i++) {
    const v = i * step;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const pick = (mults: number[]) => {
    const out: number[] = [];
    for (let e = e0; e <= e1; e++)
      for (const m of mults) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    return out;
  };
  for (const mults of [[1], [1, 3], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const t = pick(mults);
    if (t.length >= 3) return t.length > 12 ? pick([1]) : t;
  }
  // less than a factor of ~2 between ends: linear ticks, placed on the log scale
  return niceTicks(lo, hi, 4).filter((v) => v > 0);
}

/** A number with ≤ 2 decimals for SVG coordinates. */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function hashString(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** Tick labels: the given formatter, else compact numbers with just enough digits to tell them apart. */
function labelTicks(ticks: number[], fmt?: (v: number) => string): string[] {
  if (fmt) return ticks.map((t) => String(fmt(t)));
  for (let d = 3; d <= 12; d++) {
    const labels = ticks.map((t) => formatCompact(t, d));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map((t) => String(t));
}

type Pt = [number, number];

/** Split a series into drawable runs of finite points (x finite always; y finite and, for log, > 0). */
function segments(points: ReadonlyArray<readonly [number, number]>, logY: boolean): Pt[][] {
  const segs: Pt[][] = [];
  let cur: Pt[] = [];
  for (const p of points) {
    if (!Array.isArray(p) && !(p && typeof p === 'object')) continue;
    const x = Number(p[0]);
    const y = Number(p[1]);
    if (!Number.isFinite(x)) continue;
    if (!Number.isFinite(y) || (logY && y <= 0)) {
      if (cur.length) segs.push(cur);
      cur = [];
      continue;
    }
    cur.push([x, y]);
  }
  if (cur.length) segs.push(cur);
  return segs;
}

/** Keep at most ~max points: per index bucket, the first point plus the min and max y. */
function thin(seg: Pt[], max: number): Pt[] {
  if (seg.length <= max || max < 4) return seg;
  const buckets = Math.max(1, Math.floor(max / 3));
  const size = seg.length / buckets;
  const out: Pt[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(seg.length, Math.floor((b + 1) * size));
    if (hi <= lo) continue;
    let mn = lo,
      mx = lo;
    for (let i = lo; i < hi; i++) {
      if (seg[i][1] < seg[mn][1]) mn = i;
      if (seg[i][1] > seg[mx][1]) mx = i;
    }
    for (const i of [...new Set([lo, mn, mx])].sort((a, c) => a - c)) out.push(seg[i]);
  }
  const last = seg[seg.length - 1];
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

export function lineChart(opts: LineChartOptions): string {
  const W = Math.max(240, Math.round(opts.width ?? 720));
  const plotH = Math.max(120, Math.round(opts.height ?? 360)) - 36 - 52;
  const logY = !!opts.logY;
  const maxPoints = Math.max(4, opts.maxPoints ?? 1500);
  const seriesIn = Array.isArray(opts.series) ? opts.series : [];
  const title = String(opts.title ?? '');
  const id = (
    opts.idPrefix ??
    `c${hashString(`${title}|${opts.xLabel}|${opts.yLabel}|${seriesIn.map((s) => `${s?.name}:${s?.points?.length}`).join(',')}`)}`
  ).replace(/[^A-Za-z0-9_-]/g, '_');

  const series = seriesIn.map((s, i) => {
    const segs = segments(Array.isArray(s?.points) ? s.points : [], logY).map((g) => thin(g, maxPoints));
    const count = segs.reduce((a, g) => a + g.length, 0);
    return {
      name: String(s?.name ?? `series ${i + 1}`),
      color: s?.color ?? colorFor(i),
      dash: !!s?.dash,
      markers: s?.markers ?? count <= 40,
      legend: s?.legend !== false,
      segs,
      count,
    };
  });

  // ---- domains
  let xs: number[] = [],
    ys: number[] = [];
  for (const s of series)
    for (const g of s.segs)
      for (const [x, y] of g) {
        xs.push(x);
        ys.push(y);
      }
  const hasData = xs.length > 0;
  const minOf = (a: number[]) => a.reduce((m, v) => Math.min(v, m), Infinity);
  const maxOf = (a: number[]) => a.reduce((m, v) => Math.max(v, m), -Infinity);
  const fin = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  let x0 = fin(opts.xDomain?.[0]) ?? (hasData ? minOf(xs) : 0);
  let x1 = fin(opts.xDomain?.[1]) ?? (hasData ? maxOf(xs) : 1);
  let y0 = fin(opts.yDomain?.[0]) ?? (hasData ? minOf(ys) : logY ? 1 : 0);
  let y1 = fin(opts.yDomain?.[1]) ?? (hasData ? maxOf(ys) : logY ? 10 : 1);
  xs = ys = [];
  if (x1 < x0) [x0, x1] = [x1, x0];
  if (y1 < y0) [y0, y1] = [y1, y0];
  if (x1 === x0) {
    const d = x0 === 0 ? 1 : Math.abs(x0) * 0.5;
    x0 -= d;
    x1 += d;
  }
  if (logY) {
    if (!(y0 > 0)) y0 = y1 > 0 ? y1 / 10 : 1;
    if (!(y1 > 0)) y1 = y0 * 10;
    if (y1 === y0) {
      y0 /= 1.5;
      y1 *= 1.5;
    } else if (fin(opts.yDomain?.[0]) === undefined || fin(opts.yDomain?.[1]) === undefined) {
      const pad = (y1 / y0) ** 0.05;
      if (fin(opts.yDomain?.[0]) === undefined) y0 /= pad;
      if (fin(opts.yDomain?.[1]) === undefined) y1 *= pad;
    }
  } else {
    if (y1 === y0) {
      const d = y0 === 0 ? 1 : Math.abs(y0) * 0.1;
      y0 -= d;
      y1 += d;
    } else {
      const pad = (y1 - y0) * 0.05;
      if (fin(opts.yDomain?.[0]) === undefined) y0 -= pad;
      if (fin(opts.yDomain?.[1]) === undefined) y1 += pad;
    }
  }

  const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  const xTicks = niceTicks(x0, x1, 6);
  const yLabels = labelTicks(yTicks, opts.formatY);
  const left = Math.min(140, 22 + 7 * Math.max(3, ...yLabels.map((l) => l.length)) + 6);
  const right = 18;
  const top = 36;
  const plotW = W - left - right;

  // ---- legend layout (below the x label), flowing into rows
  const legendItems = series
    .filter((s) => s.legend)
    .map((s) => ({ ...s, label: s.count ? s.name : `${s.name} (no data)` }));
  const rows: { x: number; item: (typeof legendItems)[number] }[][] = [];
  let row: { x: number; item: (typeof legendItems)[number] }[] = [];
  let cx = left;
  for (const item of legendItems) {
    const w = 30 + Math.min(60, item.label.length) * 6.6 + 18;
    if (row.length && cx + w > W - right) {
      rows.push(row);
      row = [];
      cx = left;
    }
    row.push({ x: cx, item });
    cx += w;
  }
  if (row.length) rows.push(row);
  const legendTop = top + plotH + 50;
  const H = rows.length ? legendTop + rows.length * 18 + 8 : legendTop - 4;

  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = logY
    ? (y: number) => top + plotH - ((Math.log(y) - Math.log(y0)) / (Math.log(y1) - Math.log(y0))) * plotH
    : (y: number) => top + plotH - ((y - y0) / (y1 - y0)) * plotH;

  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${n(H)}" viewBox="0 0 ${W} ${n(H)}" role="img" aria-labelledby="${id}-t" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="11">`,
  );
  o.push(`<title id="${id}-t">${escapeXml(title)}</title>`);
  o.push(
    `<desc>${escapeXml(`${opts.yLabel}${logY ? ' (log scale)' : ''} against ${opts.xLabel}; series: ${series.map((s) => `${s.name} (${s.count} points)`).join(', ') || 'none'}`)}</desc>`,
  );
  o.push(
    `<defs><clipPath id="${id}-clip"><rect x="${n(left - 4)}" y="${top - 4}" width="${n(plotW + 8)}" height="${plotH + 8}"/></clipPath></defs>`,
  );
  o.push(`<rect x="0" y="0" width="${W}" height="${n(H)}" fill="#ffffff"/>`);
  o.push(`<text x="${n(left)}" y="22" font-size="14" font-weight="600" fill="#222222">${escapeXml(title)}</text>`);

  // grid + ticks
  o.push(`<g stroke="#e3e3e3" stroke-width="1">`);
  for (const t of yTicks) o.push(`<line x1="${n(left)}" y1="${n(sy(t))}" x2="${n(left + plotW)}" y2="${n(sy(t))}"/>`);
  for (const t of xTicks) o.push(`<line x1="${n(sx(t))}" y1="${top}" x2="${n(sx(t))}" y2="${top + plotH}"/>`);
  o.push(`</g>`);
  o.push(
    `<rect x="${n(left)}" y="${top}" width="${n(plotW)}" height="${plotH}" fill="none" stroke="#888888" stroke-width="1"/>`,
  );
  o.push(`<g fill="#444444" text-anchor="end">`);
  yTicks.forEach((t, i) => o.push(`<text x="${n(left - 6)}" y="${n(sy(t) + 4)}">${escapeXml(yLabels[i])}</text>`));
  o.push(`</g><g fill="#444444" text-anchor="middle">`);
  const xLabels = labelTicks(xTicks, opts.formatX);
  xTicks.forEach((t, i) => o.push(`<text x="${n(sx(t))}" y="${top + plotH + 16}">${escapeXml(xLabels[i])}</text>`));
  o.push(`</g>`);
  o.push(
    `<text x="${n(left + plotW / 2)}" y="${top + plotH + 36}" text-anchor="middle" fill="#222222">${escapeXml(opts.xLabel)}</text>`,
  );
  o.push(
    `<text transform="translate(14 ${n(top + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="#222222">${escapeXml(opts.yLabel)}${logY ? ' (log)' : ''}</text>`,
  );

  // data
  o.push(
    `<g clip-path="url(#${id}-clip)" fill="none" stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round">`,
  );
  for (const s of series) {
    if (!s.count) continue;
    const d = s.segs.map((g) => g.map(([x, y], i) => `${i ? 'L' : 'M'}${n(sx(x))} ${n(sy(y))}`).join('')).join('');
    o.push(
      `<path d="${d}" stroke="${escapeXml(s.color)}"${s.dash ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></path>`,
    );
    if (s.markers) {
      o.push(`<g fill="${escapeXml(s.color)}" stroke="none">`);
      for (const g of s.segs)
        for (const [x, y] of g) o.push(`<circle cx="${n(sx(x))}" cy="${n(sy(y))}" r="${s.dash ? 2.2 : 2.8}"/>`);
      o.push(`</g>`);
    }
  }
  o.push(`</g>`);
  if (!hasData)
    o.push(
      `<text x="${n(left + plotW / 2)}" y="${n(top + plotH / 2)}" text-anchor="middle" fill="#888888" font-size="13">no data</text>`,
    );

  // legend
  rows.forEach((r, ri) => {
    const y = legendTop + ri * 18;
    for (const { x, item } of r) {
      o.push(
        `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 24)}" y2="${n(y)}" stroke="${escapeXml(item.color)}" stroke-width="2.2"${item.dash ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
      const label = item.label.length > 60 ? `${item.label.slice(0, 59)}…` : item.label;
      o.push(
        `<text x="${n(x + 30)}" y="${n(y + 4)}" fill="${item.count ? '#222222' : '#888888'}">${escapeXml(label)}</text>`,
      );
    }
  });
  o.push(`</svg>`);
  return o.join('\n');
}
