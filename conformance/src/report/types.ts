/**
 * The conformance report: one JSON document (schema in conformance/report.schema.json) from which
 * the table and the HTML page are rendered.
 */
import type { CaseResult } from '../runner/case.js';

/** The report's format id. */
export const REPORT_FORMAT = 'mcp0.conformance/1';

/** One sample of the budgets run: seconds since its start, CPU % of one core in the interval, RSS in MB. */
export interface BudgetSample {
  t: number;
  cpuPercent: number;
  rssMB: number;
}

/** One gate: the measured value, the limit, and whether value < limit. */
export interface Gate {
  value: number;
  limit: number;
  pass: boolean;
}

/** The budgets part of a report. */
export interface BudgetReport {
  /** The reference workload as run. */
  workload: { agents: number; opsPerSecond: number; payloadBytes: number; durationS: number; operations: number; errors: number; denials: number };
  /** CPU as a share of one core here, and on the reference core; RSS peak and average. */
  usage: { cpuPercent: number; cpuPercentReference: number; coreFactor: number; rssPeakMB: number; rssAvgMB: number; samples: number; hz: number };
  gates: { cpu: Gate; rssPeak: Gate; rssAvg: Gate };
  /**
   * The seed's per-component budgets (kernel 15%, API 5%, mesh 5%, agreements 2% of the reference
   * core), each with the share measured for it where the distribution has that component.
   */
  components: { component: string; budgetPercent: number; measuredPercent: number | null; note?: string }[];
  /** The kernel's metering per module during the run. */
  metering: Record<string, { calls: number; errors: number; costUnits: number; wallUsTotal: number; p99Us: number }>;
  samples: BudgetSample[];
}

/** A whole report. */
export interface ConformanceReport {
  format: typeof REPORT_FORMAT;
  target: { kind: 'plugin' | 'distribution'; path: string; name: string; version: string };
  started: string;
  durationMs: number;
  quick: boolean;
  verdict: 'pass' | 'fail';
  summary: { pass: number; fail: number; skip: number };
  results: CaseResult[];
  budgets?: BudgetReport;
}
