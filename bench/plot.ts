/**
 * A small SVG chart writer (scatter with optional lines, error bars and log axes) — enough for the benchmark's two
 * plots without a plotting dependency.
 */

export interface PlotPoint {
  x: number;
  y: number;
  /** Whiskers: the spread of the repetitions. */
  xRange?: [number, number];
  yRange?: [number, number];
  label?: string;
  /** Where the label goes relative to the dot (to keep neighbours' labels apart). */
  labelAt?: 'above' | 'below' | 'left';
  series: string;
}

export interface PlotSpec {
  title: string;
  /** One or more lines under the title. */
  subtitle?: string[];
  xLabel: string;
  yLabel: string;
  points: PlotPoint[];
  logX?: boolean;
  logY?: boolean;
  /** Join each series' points in x order. */
  lines?: boolean;
  /** Horizontal reference line (e.g. a latency target). */
  hLine?: { y: number; label: string };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const W = 760;
const H = 480;
const M = { left: 78, right: 170, top: 70, bottom: 58 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
      }
    }
    return ticks;
  }
  const span = hi - lo || 1;
  const step0 = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 7) ?? step0 * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (v >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

export function plotSvg(spec: PlotSpec): string {
  const pts = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logY || p.y > 0) && (!spec.logX || p.x > 0));
  const xs = pts.flatMap((p) => [p.x, ...(p.xRange ?? [])]);
  const ys = pts.flatMap((p) => [p.y, ...(p.yRange ?? [])]).concat(spec.hLine ? [spec.hLine.y] : []);
  const bounds = (vs: number[], log: boolean): [number, number] => {
    let lo = Math.min(...vs);
    let hi = Math.max(...vs);
    if (!Number.isFinite(lo)) return [1, 10];
    if (log) return [10 ** Math.floor(Math.log10(Math.max(lo, 1e-9))), 10 ** Math.ceil(Math.log10(hi))];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    lo = Math.max(0, lo - pad);
    hi += pad;
    return [lo, hi];
  };
  const [x0, x1] = bounds(xs, spec.logX ?? false);
  const [y0, y1] = bounds(ys, spec.logY ?? false);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (v: number) => M.left + (spec.logX ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => M.top + ph - (spec.logY ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  (spec.subtitle ?? []).forEach((line, i) => out.push(`<text x="${M.left}" y="${42 + i * 15}" fill="#555" font-size="11">${esc(line)}</text>`));
  for (const t of niceTicks(x0, x1, spec.logX ?? false)) {
    out.push(`<line x1="${sx(t)}" y1="${M.top}" x2="${sx(t)}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(t)}" y="${M.top + ph + 16}" text-anchor="middle" fill="#333">${fmtTick(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, spec.logY ?? false)) {
    out.push(`<line x1="${M.left}" y1="${sy(t)}" x2="${M.left + pw}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${sy(t) + 4}" text-anchor="end" fill="#333">${fmtTick(t)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  if (spec.hLine) {
    const y = sy(spec.hLine.y);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${M.left + 4}" y="${y - 5}" fill="#d62728">${esc(spec.hLine.label)}</text>`);
  }

  const series = [...new Set(pts.map((p) => p.series))];
  series.forEach((name, i) => {
    const color = COLORS[i % COLORS.length]!;
    const mine = pts.filter((p) => p.series === name).sort((a, b) => a.x - b.x);
    if (spec.lines && mine.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${mine.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of mine) {
      const cx = sx(p.x);
      const cy = sy(p.y);
      if (p.xRange) out.push(`<line x1="${sx(p.xRange[0])}" y1="${cy}" x2="${sx(p.xRange[1])}" y2="${cy}" stroke="${color}" stroke-opacity="0.5"/>`);
      if (p.yRange) out.push(`<line x1="${cx}" y1="${sy(p.yRange[0])}" x2="${cx}" y2="${sy(p.yRange[1])}" stroke="${color}" stroke-opacity="0.5"/>`);
      out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4.5" fill="${color}"/>`);
      if (p.label) {
        const at = p.labelAt ?? 'above';
        const [dx, dy, anchor] = at === 'below' ? [7, 15, 'start'] : at === 'left' ? [-8, 4, 'end'] : [7, -6, 'start'];
        out.push(`<text x="${(cx + dx).toFixed(1)}" y="${(cy + dy).toFixed(1)}" text-anchor="${anchor}" fill="${color}" font-size="11">${esc(p.label)}</text>`);
      }
    }
    const ly = M.top + 10 + i * 20;
    out.push(`<circle cx="${M.left + pw + 18}" cy="${ly}" r="4.5" fill="${color}"/>`);
    out.push(`<text x="${M.left + pw + 28}" y="${ly + 4}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
