/**
 * Presenting results: a fixed-width table of the figures, the ratios with their verdicts, and the
 * JSON document written to bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const fmt = (v, digits = 1) =>
  v === undefined || Number.isNaN(v) ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pad = (s, w, right = false) => (right ? String(s).padStart(w) : String(s).padEnd(w));

/** The figures table: one line per measured row. */
export function figuresTable(rows) {
  const head = ['group', 'task', 'ops/s', 'mean µs', 'p50 µs', 'p99 µs', '±%', 'samples'];
  const lines = rows.map((r) => [
    r.group,
    r.label,
    fmt(r.stats.opsPerSec, 0),
    fmt(r.stats.meanUs, r.stats.meanUs < 100 ? 2 : 1),
    fmt(r.stats.p50Us, r.stats.p50Us < 100 ? 2 : 1),
    fmt(r.stats.p99Us, r.stats.p99Us < 100 ? 2 : 1),
    fmt(r.stats.rmePct, 1),
    fmt(r.stats.samples, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const render = (cells) => cells.map((c, i) => pad(c, widths[i], i >= 2)).join('  ');
  return [render(head), widths.map((w) => '─'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

/** The ratios table: numerator/denominator of the means and of the medians, and the verdict. */
export function ratiosTable(ratios) {
  const head = ['ratio', 'mean', 'p50', 'target', 'verdict'];
  const lines = ratios.map((r) => [
    r.name,
    `${fmt(r.mean, 2)}×`,
    `${fmt(r.p50, 2)}×`,
    r.target === undefined ? '' : `≤ ${r.target}× (${r.on})`,
    r.verdict ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const render = (cells) => cells.map((c, i) => pad(c, widths[i], i === 1 || i === 2)).join('  ');
  return [render(head), widths.map((w) => '─'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

/**
 * A ratio between two rows. With a target, the verdict compares the ratio of `on` ('p50' or
 * 'mean') against it.
 */
export function ratio(name, num, den, { target, on = 'p50' } = {}) {
  const r = { name, numerator: num.id, denominator: den.id, mean: num.stats.meanUs / den.stats.meanUs, p50: num.stats.p50Us / den.stats.p50Us };
  if (target !== undefined) Object.assign(r, { target, on, verdict: r[on] <= target ? 'PASS' : 'FAIL' });
  return r;
}

/** Write `doc` as pretty JSON, creating the directory. */
export function writeJson(path, doc) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(doc, roundNumbers, 2)}\n`);
}

function roundNumbers(_key, value) {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}
