/**
 * A hand-made conformance report for the report tests: every status, hostile text where a plugin
 * under test controls it (case names, messages), and a budgets block with a known sample series.
 */
import { REPORT_FORMAT, type ConformanceReport } from '../src/report/index.js';

/** Text a hostile plugin could put in a case name or message. */
export const HOSTILE = {
  script: '<script>document.body.dataset.pwned = "script"</script>',
  img: '<img src=x onerror="document.body.dataset.pwned = \'img\'">',
  ansi: '\u001b[2J\u001b[31mcleared your terminal\u001b[0m',
};

/** A report with `n` samples of a run at a fixed 10 Hz, rising RSS and CPU around 10%. */
export function sampleReport(n = 50): ConformanceReport {
  const samples = Array.from({ length: n }, (_, i) => ({ t: i / 10, cpuPercent: i === 0 ? 0 : 8 + (i % 5), rssMB: 100 + i }));
  return {
    format: REPORT_FORMAT,
    target: { kind: 'distribution', path: 'dist/<standard>/build', name: 'standard', version: '0.1.0' },
    started: '2026-11-25T18:00:00.000Z',
    durationMs: 12_345,
    quick: true,
    verdict: 'fail',
    summary: { pass: 2, fail: 2, skip: 1 },
    results: [
      { subject: 'mcp0.trace', suite: 'abi', case: 'version marker', status: 'pass', ms: 3 },
      { subject: 'mcp0.trace', suite: 'trace', case: 'append then head', status: 'pass', ms: 41 },
      {
        subject: 'acme.broken',
        suite: 'storage',
        case: `cas ${HOSTILE.img}`,
        status: 'fail',
        ms: 12,
        message: `expected ECONFLICT, got ${HOSTILE.script} & "ok"`,
        details: { expected: 'ECONFLICT' },
      },
      { subject: 'acme.broken', suite: 'abi', case: 'hostile input', status: 'fail', ms: 7, message: `expected EINPUT, got ${HOSTILE.ansi}` },
      { subject: 'mcp0.trace', suite: 'abi', case: '16 MiB payloads', status: 'skip', ms: 0, message: 'slow: left out by --quick' },
    ],
    budgets: {
      workload: { agents: 8, opsPerSecond: 20, payloadBytes: 256, durationS: 4.9, operations: 100, errors: 0, denials: 2 },
      usage: { cpuPercent: 10, cpuPercentReference: 18, coreFactor: 1.8, rssPeakMB: 100 + n - 1, rssAvgMB: 100 + (n - 1) / 2, samples: n, hz: 10.2 },
      gates: {
        cpu: { value: 18, limit: 27, pass: true },
        rssPeak: { value: 100 + n - 1, limit: 827, pass: true },
        rssAvg: { value: 100 + (n - 1) / 2, limit: 640, pass: true },
      },
      components: [
        { component: 'kernel', budgetPercent: 15, measuredPercent: null, note: 'not separable' },
        { component: 'api', budgetPercent: 5, measuredPercent: null, note: 'not in this distribution' },
        { component: 'mesh', budgetPercent: 5, measuredPercent: null, note: 'not in this distribution' },
        { component: 'agreements', budgetPercent: 2, measuredPercent: 1.25, note: 'metered wall time' },
      ],
      metering: {
        'mcp0.agreements': { calls: 198, errors: 0, costUnits: 814, wallUsTotal: 301_200, p99Us: 6144 },
        [`agent:${HOSTILE.script}`]: { calls: 17, errors: 1, costUnits: 97, wallUsTotal: 50_500, p99Us: 6708 },
      },
      samples,
    },
  };
}
