/**
 * Inline SVG line charts for the HTML report: series over time with horizontal gate lines, no
 * script and no external resource, so the page renders the same anywhere (and in headless Chromium).
 */
import { escapeHtml } from './escape.js';
import { num } from './format.js';

/** One line of the chart. */
export interface Series {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

/** A horizontal limit drawn across the chart. */
export interface GateLine {
  label: string;
  value: number;
}

const W = 720;
const H = 260;
const PAD = { left: 56, right: 16, top: 28, bottom: 36 };

/** A round step for about five grid lines up to `max`. */
function step(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

/**
 * An SVG line chart of `series` against time, the y range reaching past every gate line so the
 * limits are always visible.
 * @example
 * lineChart({ id: 'cpu', title: 'CPU', unit: '%', series: [{ label: 'here', color: '#36c', points }], gates: [{ label: 'gate', value: 27 }] })
 */
export function lineChart(c: { id: string; title: string; unit: string; series: Series[]; gates: GateLine[] }): string {
  const xs = c.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [...c.series.flatMap((s) => s.points.map((p) => p.y)), ...c.gates.map((g) => g.value)];
  const xMax = Math.max(1e-9, ...xs);
  const yStep = step(Math.max(1e-9, ...ys) * 1.08);
  const yMax = Math.ceil((Math.max(1e-9, ...ys) * 1.08) / yStep) * yStep;
  const px = (x: number) => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const py = (y: number) => H - PAD.bottom - (Math.max(0, y) / yMax) * (H - PAD.top - PAD.bottom);
  const out: string[] = [
    `<svg id="${escapeHtml(c.id)}" class="chart" role="img" aria-label="${escapeHtml(c.title)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">`,
    `<title>${escapeHtml(c.title)}</title>`,
    `<text x="${PAD.left}" y="18" class="title">${escapeHtml(c.title)}</text>`,
  ];
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${num(py(y))}" y2="${num(py(y))}"/>`);
    out.push(`<text class="axis" x="${PAD.left - 6}" y="${num(py(y) + 4)}" text-anchor="end">${escapeHtml(num(y))}${escapeHtml(c.unit)}</text>`);
  }
  const xStep = step(xMax);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<text class="axis" x="${num(px(x))}" y="${H - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(num(x))} s</text>`);
  }
  c.series.forEach((s, i) => {
    const points = s.points.map((p) => `${num(px(p.x))},${num(py(p.y))}`).join(' ');
    out.push(`<polyline class="series" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="1.6" points="${points}"/>`);
    const lx = PAD.left + i * 220;
    out.push(
      `<rect x="${lx}" y="${H - 14}" width="12" height="4" fill="${escapeHtml(s.color)}"/><text class="legend" x="${lx + 16}" y="${H - 8}">${escapeHtml(s.label)}</text>`,
    );
  });
  // Gates last, so the limits stay visible over the data.
  for (const g of c.gates) {
    out.push(`<line class="gate" x1="${PAD.left}" x2="${W - PAD.right}" y1="${num(py(g.value))}" y2="${num(py(g.value))}"/>`);
    out.push(`<text class="gate-label" x="${W - PAD.right}" y="${num(py(g.value) - 4)}" text-anchor="end">${escapeHtml(g.label)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
