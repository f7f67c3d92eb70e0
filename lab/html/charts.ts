// Inline SVG charts (no library): a line chart for timelines, horizontal bars for counts, and
// ratio bars with their goal marked. Each returns one <svg> element; empty data says so instead.
import { esc } from './esc.js';

export const PALETTE = ['#0969da', '#1a7f37', '#bf3989', '#9a6700', '#8250df', '#cf222e', '#1b7c83', '#6e7781', '#fb8500', '#3d5a80'];

const fmt = (n: number): string => (Math.abs(n) >= 10_000 ? `${(n / 1000).toFixed(0)}k` : Math.abs(n) >= 1000 ? `${(n / 1000).toFixed(1)}k` : Number.isInteger(n) ? String(n) : n.toFixed(2));

/** Round tick steps (1, 2, 5 × 10^k) covering [0, max]. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function empty(title: string, width: number, why: string): string {
  return `<svg class="chart" width="${width}" height="70" viewBox="0 0 ${width} 70" role="img"><text class="title" x="14" y="22">${esc(title)}</text><text x="14" y="48">${esc(why)}</text></svg>`;
}

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

/** Step lines (values hold until the next point), e.g. coverage over seconds. */
export function lineChart(o: { title: string; series: readonly Series[]; xLabel: string; yLabel: string; width?: number; height?: number; xMax?: number }): string {
  const W = o.width ?? 640;
  const H = o.height ?? 300;
  const series = o.series.filter((s) => s.points.length > 0);
  if (series.length === 0) return empty(o.title, W, 'no data recorded');
  const L = 60, R = 150, T = 34, B = 40;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(o.xMax ?? 0, ...xs, 1e-9);
  const yMin = Math.min(...ys);
  const yMax0 = Math.max(...ys);
  const yLo = yMin === yMax0 ? Math.max(0, yMin - 1) : yMin - (yMax0 - yMin) * 0.05;
  const yMax = yMin === yMax0 ? yMax0 + 1 : yMax0 + (yMax0 - yMin) * 0.05;
  const x = (v: number): number => L + (v / xMax) * (W - L - R);
  const y = (v: number): number => H - B - ((v - yLo) / (yMax - yLo)) * (H - T - B);
  const grid = ticks(yLo, yMax).map((t) => `<line class="grid" x1="${L}" x2="${W - R}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text x="${L - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`).join('');
  const xt = ticks(0, xMax).map((t) => `<text x="${x(t).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${fmt(t)}</text>`).join('');
  const lines = series.map((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const d: string[] = [];
    pts.forEach(([px, py], k) => {
      if (k > 0) d.push(`H${x(px).toFixed(1)}`);
      d.push(`${k === 0 ? 'M' : 'V'}${k === 0 ? `${x(px).toFixed(1)},` : ''}${y(py).toFixed(1)}`);
    });
    d.push(`H${x(xMax).toFixed(1)}`);
    const last = pts[pts.length - 1]!;
    return `<path d="${d.join(' ')}" fill="none" stroke="${c}" stroke-width="2"><title>${esc(s.name)}: ${fmt(last[1])}</title></path>`
      + `<rect x="${W - R + 12}" y="${T + i * 18}" width="10" height="10" fill="${c}"/><text x="${W - R + 27}" y="${T + i * 18 + 9}">${esc(s.name.length > 20 ? `${s.name.slice(0, 19)}…` : s.name)}</text>`;
  }).join('');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}">
<text class="title" x="14" y="20">${esc(o.title)}</text>${grid}
<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>${xt}
<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(o.xLabel)}</text>
<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">${esc(o.yLabel)}</text>${lines}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Fill colour; default from the palette. */
  color?: string;
  /** Shown after the bar instead of the value. */
  text?: string;
}

/** Horizontal bars, largest scale = largest value (or `max`). */
export function barChart(o: { title: string; bars: readonly Bar[]; width?: number; max?: number; labelWidth?: number }): string {
  const W = o.width ?? 640;
  if (o.bars.length === 0) return empty(o.title, W, 'no data recorded');
  const LW = o.labelWidth ?? 200, T = 34, row = 22;
  // Room on the right for the longest value text (about 6.5 px a character at 11 px).
  const R = Math.min(W / 2, 16 + 6.5 * Math.max(...o.bars.map((b) => (b.text ?? fmt(b.value)).length)));
  const H = T + o.bars.length * row + 12;
  const max = Math.max(o.max ?? 0, ...o.bars.map((b) => b.value), 1e-9);
  const bars = o.bars.map((b, i) => {
    const w = Math.max(1, (b.value / max) * (W - LW - R));
    const yy = T + i * row;
    return `<text x="${LW - 8}" y="${yy + 14}" text-anchor="end">${esc(b.label.length > 32 ? `${b.label.slice(0, 31)}…` : b.label)}</text>`
      + `<rect x="${LW}" y="${yy + 3}" width="${w.toFixed(1)}" height="${row - 7}" rx="3" fill="${b.color ?? PALETTE[i % PALETTE.length]}"><title>${esc(b.label)}: ${esc(b.text ?? fmt(b.value))}</title></rect>`
      + `<text x="${(LW + w + 6).toFixed(1)}" y="${yy + 14}">${esc(b.text ?? fmt(b.value))}</text>`;
  }).join('');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}"><text class="title" x="14" y="20">${esc(o.title)}</text>${bars}</svg>`;
}

export interface RatioRow {
  label: string;
  /** Measured ratio (null: not measured). */
  got: number | null;
  /** The goal; a bar at or past it is green. */
  want: number;
}

/** Ratio bars on a common scale with each goal drawn as a tick: met green, missed red. */
export function ratioChart(o: { title: string; rows: readonly RatioRow[]; width?: number; labelWidth?: number }): string {
  const W = o.width ?? 760;
  if (o.rows.length === 0) return empty(o.title, W, 'no targets checked');
  const LW = o.labelWidth ?? 290, T = 34, row = 24, R = 130;
  const H = T + o.rows.length * row + 30;
  const max = Math.max(1, ...o.rows.map((r) => Math.max(r.got ?? 0, r.want))) * 1.08;
  const x = (v: number): number => LW + (v / max) * (W - LW - R);
  const one = x(1);
  const rows = o.rows.map((r, i) => {
    const yy = T + i * row;
    const met = r.got !== null && r.got >= r.want;
    const bar = r.got === null ? `<text x="${LW + 4}" y="${yy + 15}">not measured</text>`
      : `<rect x="${LW}" y="${yy + 4}" width="${Math.max(1, x(r.got) - LW).toFixed(1)}" height="${row - 9}" rx="3" fill="${met ? '#2da44e' : '#cf222e'}" opacity=".85"><title>${esc(r.label)}: ${r.got.toFixed(2)}× (goal ${r.want}×)</title></rect>`
        + `<text x="${(Math.max(x(r.got), x(r.want)) + 6).toFixed(1)}" y="${yy + 15}">${r.got.toFixed(2)}× / ${r.want}× ${met ? '✓' : '✗'}</text>`;
    return `<text x="${LW - 8}" y="${yy + 15}" text-anchor="end">${esc(r.label.length > 46 ? `${r.label.slice(0, 45)}…` : r.label)}</text>${bar}`
      + `<line x1="${x(r.want).toFixed(1)}" x2="${x(r.want).toFixed(1)}" y1="${yy + 1}" y2="${yy + row - 2}" stroke="#1f2328" stroke-width="2"/>`;
  }).join('');
  const axis = ticks(0, max).map((t) => `<text x="${x(t).toFixed(1)}" y="${H - 10}" text-anchor="middle">${fmt(t)}×</text><line class="grid" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${T}" y2="${H - 24}"/>`).join('');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}"><text class="title" x="14" y="20">${esc(o.title)}</text>${axis}`
    + `<line x1="${one.toFixed(1)}" x2="${one.toFixed(1)}" y1="${T}" y2="${H - 24}" stroke="#8c959f" stroke-dasharray="3 3"/>${rows}`
    + `<text x="${W - 14}" y="20" text-anchor="end">bar: measured · tick: goal · dashed: 1×</text></svg>`;
}
