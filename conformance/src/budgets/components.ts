/**
 * The seed's per-component CPU budgets (shares of the reference core), each with the share measured
 * for it where the distribution has that component and it can be measured honestly, and null with
 * the reason where not.
 */
import { UsageError } from '@mcp0/abi';
import type { BudgetReport } from '../report/types.js';

/**
 * The seed's per-component budgets, % of the reference core.
 * @example
 * COMPONENT_BUDGETS.agreements // 2
 */
export const COMPONENT_BUDGETS = Object.freeze({ kernel: 15, api: 5, mesh: 5, agreements: 2 });

/** The agreements plugin's cost, measured by difference. */
export interface AgreementsInputs {
  /** Process CPU, % of one core here, with the agreements plugin (the main run). */
  withPercent: number;
  /** The same workload without the agreements plugin. */
  withoutPercent: number;
  withoutDurationS: number;
  /** Two standard errors of the difference, % of one core here (NaN when unknown). */
  noisePercent: number;
  /** The metered wall time of its hook calls over the main run, % of one core here. */
  wallPercent: number;
}

/** What the shares are computed from. */
export interface ComponentInputs {
  coreFactor: number;
  /** The whole process's CPU, % of the reference core: the ceiling of any one component's share. */
  cpuPercentReference: number;
  /** Null when the distribution has no agreements plugin. */
  agreements: AgreementsInputs | null;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The component rows of a budgets report.
 * @example
 * componentShares({ coreFactor: 1.8, cpuPercentReference: 27, agreements: { withPercent: 15, withoutPercent: 14, withoutDurationS: 30, noisePercent: 0.4, wallPercent: 12 } })
 * // kernel 15 / null (ceiling 27), api 5 / null, mesh 5 / null, agreements 2 / 1.8
 */
export function componentShares(x: ComponentInputs): BudgetReport['components'] {
  if (!(x.coreFactor > 0)) throw new UsageError('EUSAGE', `coreFactor: expected a positive number, got ${x.coreFactor}`, { got: x.coreFactor });
  const f = x.coreFactor;
  const rows: BudgetReport['components'] = [
    {
      // Metered wall time is not CPU time (a call's wall time holds waits and work interleaved
      // while it awaited), and process CPU is not split by thread, so nothing honest is left to
      // subtract for the kernel alone.
      component: 'kernel',
      budgetPercent: COMPONENT_BUDGETS.kernel,
      measuredPercent: null,
      note: `not separable: process CPU is not split between kernel, plugin and agent code, and metered wall times count waiting; the whole process used ${r2(x.cpuPercentReference)}%, the kernel's ceiling`,
    },
    { component: 'api', budgetPercent: COMPONENT_BUDGETS.api, measuredPercent: null, note: 'not in this distribution' },
    { component: 'mesh', budgetPercent: COMPONENT_BUDGETS.mesh, measuredPercent: null, note: 'not in this distribution' },
  ];
  const a = x.agreements;
  if (a === null) {
    rows.push({ component: 'agreements', budgetPercent: COMPONENT_BUDGETS.agreements, measuredPercent: null, note: 'not in this distribution' });
  } else {
    const noise = Number.isFinite(a.noisePercent) ? `± ${r2(a.noisePercent * f)}` : '± unknown (run too short)';
    rows.push({
      component: 'agreements',
      budgetPercent: COMPONENT_BUDGETS.agreements,
      measuredPercent: r2(Math.max(0, a.withPercent - a.withoutPercent) * f),
      note: `the CPU it adds: this run's ${r2(a.withPercent)}% of a core here minus ${r2(a.withoutPercent)}% for the same workload run ${r2(a.withoutDurationS)} s without it, × ${r2(f)}; ${noise} (two standard errors); its hook calls' metered wall time, which counts waiting too, came to ${r2(a.wallPercent * f)}%`,
    });
  }
  return rows;
}
