/**
 * The human table on stdout: one row per case, then the budgets block, then the verdict line. Case
 * names and messages come from the plugin under test, so control characters (terminal escapes)
 * are stripped before printing.
 */
import { componentWord, gateRows, gateWord, num, workloadLine } from './format.js';
import type { BudgetReport, ConformanceReport } from './types.js';

/** Control characters, including ESC: a hostile message must not drive the terminal. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** One line of printable text: line breaks and tabs become spaces, other control characters go. */
function clean(text: string): string {
  return text
    .replace(CONTROL, '')
    .replace(/[\t\n\r]+/g, ' ')
    .trim();
}

function columns(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function budgetLines(b: BudgetReport): string[] {
  const lines = [`Budgets: ${workloadLine(b)}; ${b.usage.samples} samples at ${num(b.usage.hz, 1)} Hz`];
  lines.push(...columns(gateRows(b).map((g) => [`  ${g.label}`, g.measured, g.limit, gateWord(g.gate)])));
  lines.push('  Per component (share of the reference core; reported, not gated):');
  lines.push(
    ...columns(
      [
        ['    component', 'budget', 'measured', 'vs budget', 'note'],
        ...b.components.map((c) => [
          `    ${clean(c.component)}`,
          `${num(c.budgetPercent)}%`,
          c.measuredPercent === null ? '-' : `${num(c.measuredPercent)}%`,
          componentWord(c),
          clean(c.note ?? ''),
        ]),
      ],
      new Set([1, 2]),
    ),
  );
  const modules = Object.entries(b.metering);
  if (modules.length > 0) {
    lines.push('  Kernel metering per module:');
    lines.push(
      ...columns(
        [
          ['    module', 'calls', 'errors', 'cost units', 'wall total ms', 'p99 µs'],
          ...modules.map(([name, m]) => [
            `    ${clean(name)}`,
            String(m.calls),
            String(m.errors),
            String(m.costUnits),
            num(m.wallUsTotal / 1000, 1),
            num(m.p99Us, 0),
          ]),
        ],
        new Set([1, 2, 3, 4, 5]),
      ),
    );
  }
  return lines;
}

/**
 * The report as a readable table (ends with a newline).
 * @example
 * process.stdout.write(renderTable(report))
 */
export function renderTable(report: ConformanceReport): string {
  const t = report.target;
  const lines = [`MCP-ZERO conformance: ${t.kind} ${clean(t.name)}@${clean(t.version)} (${clean(t.path)})${report.quick ? ', --quick' : ''}`, ''];
  if (report.results.length > 0) {
    lines.push(
      ...columns(
        [
          ['subject', 'suite', 'case', 'result', 'ms', 'message'],
          ...report.results.map((r) => [
            clean(r.subject),
            clean(r.suite),
            clean(r.case),
            r.status.toUpperCase(),
            String(Math.round(r.ms)),
            clean(r.message ?? ''),
          ]),
        ],
        new Set([4]),
      ),
    );
    lines.push('');
  }
  if (report.budgets) lines.push(...budgetLines(report.budgets), '');
  const s = report.summary;
  lines.push(
    `Verdict: ${report.verdict.toUpperCase()} (${s.pass} passed, ${s.fail} failed, ${s.skip} skipped${report.budgets ? `; budgets ${Object.values(report.budgets.gates).every((g) => g.pass) ? 'within' : 'OVER'} the gates` : ''}) in ${num(report.durationMs / 1000, 1)} s`,
  );
  return `${lines.join('\n')}\n`;
}
