/**
 * Number and budget wording shared by the table and the HTML page, so both say the same thing the
 * same way.
 */
import type { BudgetReport, Gate } from './types.js';

/**
 * A number with at most `digits` decimals, trailing zeros dropped.
 * @example
 * num(12.3456) // '12.35'
 */
export function num(x: number, digits = 2): string {
  return Number.isFinite(x) ? String(Math.round(x * 10 ** digits) / 10 ** digits) : String(x);
}

/**
 * PASS or FAIL for a gate.
 * @example
 * gateWord({ value: 12, limit: 27, pass: true }) // 'PASS'
 */
export function gateWord(g: Gate): 'PASS' | 'FAIL' {
  return g.pass ? 'PASS' : 'FAIL';
}

/**
 * How a component's measured share stands against its budget: `over`, `within`, or `-` when unmeasured.
 * @example
 * componentWord({ component: 'agreements', budgetPercent: 2, measuredPercent: 4.4 }) // 'over'
 */
export function componentWord(c: BudgetReport['components'][number]): 'over' | 'within' | '-' {
  if (c.measuredPercent === null) return '-';
  return c.measuredPercent > c.budgetPercent ? 'over' : 'within';
}

/**
 * One line describing the workload as run.
 * @example
 * workloadLine(report.budgets) // '8 agents, 20 ops/s, 256 B payloads, 60 s: 1200 operations, 0 errors, 24 denials'
 */
export function workloadLine(b: BudgetReport): string {
  const w = b.workload;
  return `${w.agents} agents, ${num(w.opsPerSecond)} ops/s, ${w.payloadBytes} B payloads, ${num(w.durationS, 1)} s: ${w.operations} operations, ${w.errors} errors, ${w.denials} denials`;
}

/**
 * The three gates as labelled rows: what was measured, against which limit.
 * @example
 * for (const g of gateRows(report.budgets)) console.log(g.label, g.measured, g.limit, gateWord(g.gate))
 */
export function gateRows(b: BudgetReport): { label: string; measured: string; limit: string; gate: Gate }[] {
  const u = b.usage;
  return [
    {
      label: 'CPU',
      measured: `${num(u.cpuPercent)}% of a core here, ${num(u.cpuPercentReference)}% of the reference core (× ${num(u.coreFactor)})`,
      limit: `< ${num(b.gates.cpu.limit)}%`,
      gate: b.gates.cpu,
    },
    { label: 'RSS peak', measured: `${num(u.rssPeakMB, 1)} MB`, limit: `< ${num(b.gates.rssPeak.limit)} MB`, gate: b.gates.rssPeak },
    { label: 'RSS average', measured: `${num(u.rssAvgMB, 1)} MB`, limit: `< ${num(b.gates.rssAvg.limit)} MB`, gate: b.gates.rssAvg },
  ];
}
