/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched) with
 * the verdict, the budgets with CPU and RSS charts against their gates, and a pass/fail row per
 * case. Everything that came from a plugin or the command line is escaped.
 */
import { lineChart } from './chart.js';
import { escapeHtml as h } from './escape.js';
import { componentWord, gateRows, gateWord, num, workloadLine } from './format.js';
import type { BudgetReport, ConformanceReport } from './types.js';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.status{background:#e3f6e3;color:#155d15}tr.fail td.status{background:#fde2e2;color:#9b1111;font-weight:bold}
tr.skip td.status{background:#f2f2f2;color:#666}td.message{white-space:pre-wrap;word-break:break-word;max-width:520px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:bold}.verdict.pass{background:#2e7d32;color:#fff}.verdict.fail{background:#c62828;color:#fff}
svg.chart{display:block;margin:8px 0;background:#fcfcfc;border:1px solid #eee}
svg .grid{stroke:#e6e6e6}svg .axis{font-size:11px;fill:#666}svg .title{font-size:13px;font-weight:bold;fill:#333}
svg .gate{stroke:#c62828;stroke-dasharray:6 4;stroke-width:1.2}svg .gate-label{font-size:11px;fill:#c62828}svg .legend{font-size:11px;fill:#333}
`;

function row(cells: string[], cls = '', numeric: ReadonlySet<number> = new Set()): string {
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
}

/**
 * CPU averaged over windows of `windowS`, weighted by each sample's interval: at 20–30 Hz over a
 * minute the raw samples are too spiky to read against a gate. Returns { x: window end, y: CPU % }.
 */
function windowed(samples: BudgetReport['samples'], windowS: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  let busy = 0;
  let span = 0;
  let start = 0;
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i]!.t - samples[i - 1]!.t;
    busy += samples[i]!.cpuPercent * dt;
    span += dt;
    if (samples[i]!.t - start >= windowS - 1e-9 || i === samples.length - 1) {
      out.push({ x: samples[i]!.t, y: span > 0 ? busy / span : 0 });
      busy = 0;
      span = 0;
      start = samples[i]!.t;
    }
  }
  return out;
}

function budgetsSection(b: BudgetReport): string {
  // About 120 points across the run, never finer than the samples.
  const windowS = Math.max((b.samples.at(-1)?.t ?? 0) / 120, 1e-3);
  const cpu = windowed(b.samples, windowS);
  const cpuHere = cpu;
  const cpuRef = cpu.map((p) => ({ x: p.x, y: p.y * b.usage.coreFactor }));
  const rss = b.samples.map((s) => ({ x: s.t, y: s.rssMB }));
  const gates = gateRows(b).map(
    (g) =>
      `<tr class="${g.gate.pass ? 'pass' : 'fail'}"><th>${h(g.label)}</th><td>${h(g.measured)}</td><td>${h(g.limit)}</td><td class="status">${gateWord(g.gate)}</td></tr>`,
  );
  const components = b.components.map((c) =>
    row(
      [
        h(c.component),
        `${h(num(c.budgetPercent))}%`,
        c.measuredPercent === null ? '–' : `${h(num(c.measuredPercent))}%`,
        componentWord(c) === '-' ? '–' : componentWord(c),
        h(c.note ?? ''),
      ],
      '',
      new Set([1, 2]),
    ),
  );
  const metering = Object.entries(b.metering).map(([name, m]) =>
    row([h(name), String(m.calls), String(m.errors), String(m.costUnits), h(num(m.wallUsTotal / 1000, 1)), h(num(m.p99Us, 0))], '', new Set([1, 2, 3, 4, 5])),
  );
  return `<section id="budgets"><h2>Budgets</h2>
<p>Reference workload: ${h(workloadLine(b))}. ${b.usage.samples} samples at ${h(num(b.usage.hz, 1))} Hz.</p>
<table id="gates"><tr><th>gate</th><th>measured</th><th>limit</th><th>result</th></tr>${gates.join('')}</table>
${lineChart({
  id: 'cpu-chart',
  title: `CPU over time, averaged over ${num(windowS * 1000, 0)} ms windows (the gate is on the reference core)`,
  unit: '%',
  series: [
    { label: 'here', color: '#1f6fd1', points: cpuHere },
    { label: `reference core (× ${num(b.usage.coreFactor)})`, color: '#e08a00', points: cpuRef },
  ],
  gates: [{ label: `CPU gate ${num(b.gates.cpu.limit)}% (reference)`, value: b.gates.cpu.limit }],
})}
${lineChart({
  id: 'rss-chart',
  title: 'RSS over time (MB)',
  unit: '',
  series: [{ label: 'RSS', color: '#2e7d32', points: rss }],
  gates: [
    { label: `RSS peak gate ${num(b.gates.rssPeak.limit)} MB`, value: b.gates.rssPeak.limit },
    { label: `RSS average gate ${num(b.gates.rssAvg.limit)} MB`, value: b.gates.rssAvg.limit },
  ],
})}
<h2>Per component</h2><p>Shares of the reference core, reported beside the gates (not gated).</p>
<table id="components"><tr><th>component</th><th>budget</th><th>measured</th><th>vs budget</th><th>note</th></tr>${components.join('')}</table>
<h2>Kernel metering per module</h2>
<table id="metering"><tr><th>module</th><th>calls</th><th>errors</th><th>cost units</th><th>wall total ms</th><th>p99 µs</th></tr>${metering.join('')}</table>
</section>`;
}

/**
 * The report as one self-contained HTML document.
 * @example
 * await writeFile('conformance.html', renderHtml(report))
 */
export function renderHtml(report: ConformanceReport): string {
  const t = report.target;
  const s = report.summary;
  const title = `MCP-ZERO conformance: ${t.name}@${t.version}`;
  const cases = report.results.map(
    (r) =>
      `<tr class="case ${r.status}">${[h(r.subject), h(r.suite), h(r.case)].map((c) => `<td>${c}</td>`).join('')}<td class="status">${r.status.toUpperCase()}</td><td class="num">${Math.round(r.ms)}</td><td class="message">${h(r.message ?? '')}</td></tr>`,
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title><style>${CSS}</style></head>
<body>
<h1>${h(title)}</h1>
<p><span id="verdict" class="verdict ${report.verdict}">${report.verdict.toUpperCase()}</span>
${h(t.kind)} <code>${h(t.path)}</code>, started ${h(report.started)}, ${h(num(report.durationMs / 1000, 1))} s${report.quick ? ', --quick' : ''}.</p>
<p id="summary">${s.pass} passed, ${s.fail} failed, ${s.skip} skipped.</p>
${report.budgets ? budgetsSection(report.budgets) : ''}
<section id="cases"><h2>Cases</h2>
<table><tr><th>subject</th><th>suite</th><th>case</th><th>result</th><th>ms</th><th>message</th></tr>
${cases.join('\n')}
</table></section>
</body></html>
`;
}
