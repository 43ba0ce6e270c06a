/**
 * The seed's per-component CPU budgets (shares of the reference core), each with the share measured
 * for it from the kernel's metering where the distribution has that component, and an honest null
 * where it cannot be measured.
 */
import type { BudgetReport } from '../report/types.js';

/**
 * The seed's per-component budgets, % of the reference core.
 * @example
 * COMPONENT_BUDGETS.agreements // 2
 */
export const COMPONENT_BUDGETS = Object.freeze({ kernel: 15, api: 5, mesh: 5, agreements: 2 });

/** What the shares are computed from. */
export interface ComponentInputs {
  /** Wall time of the run, µs. */
  durationUs: number;
  coreFactor: number;
  /** The whole process's CPU, % of the reference core: the ceiling of any one component's share. */
  cpuPercentReference: number;
  /** Metered wall time of the calls into the agreements plugin(s), µs; null when the distribution has none. */
  agreementsWallUs: number | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The component rows of a budgets report.
 * @example
 * componentShares({ durationUs: 60e6, coreFactor: 1.8, cpuPercentReference: 20, agreementsWallUs: 3e5 })
 * // kernel 15 / null (at most 20), api 5 / null, mesh 5 / null, agreements 2 / 0.9
 */
export function componentShares(x: ComponentInputs): BudgetReport['components'] {
  if (!(x.durationUs > 0)) throw new RangeError(`durationUs: expected a positive duration, got ${x.durationUs}`);
  // Metered wall time is not CPU time: a call's wall time also holds whatever the event loop ran
  // while the call awaited (other operations' hooks and host calls), so concurrent calls overlap.
  // Subtracting overlapping wall times from process CPU gives nothing honest for the kernel.
  return [
    {
      component: 'kernel', budgetPercent: COMPONENT_BUDGETS.kernel, measuredPercent: null,
      note: `not separable: the process CPU counter does not split the kernel from plugin and agent code, and metered wall times overlap under concurrency; the whole process used ${round2(x.cpuPercentReference)}%, the kernel's ceiling`,
    },
    { component: 'api', budgetPercent: COMPONENT_BUDGETS.api, measuredPercent: null, note: 'not in this distribution' },
    { component: 'mesh', budgetPercent: COMPONENT_BUDGETS.mesh, measuredPercent: null, note: 'not in this distribution' },
    x.agreementsWallUs === null
      ? { component: 'agreements', budgetPercent: COMPONENT_BUDGETS.agreements, measuredPercent: null, note: 'not in this distribution' }
      : {
        component: 'agreements', budgetPercent: COMPONENT_BUDGETS.agreements,
        measuredPercent: round2((x.agreementsWallUs / x.durationUs) * 100 * x.coreFactor),
        note: 'metered wall time of the agreements plugin\'s hook calls over the run, × the core factor: an upper bound on its CPU, since wall time includes work interleaved while a call awaited',
      },
  ];
}
