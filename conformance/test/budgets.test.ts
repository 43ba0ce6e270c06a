// The budgets run on small distributions built from source: the reference workload as documented,
// sampling at 10 Hz or more, gates and component shares computed from what was measured, the
// temporary store removed, and options refused with the expected and the given value.
import { readdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mcp0Error, UsageError, generateKeyPair } from '@mcp0/abi';
import { addPlugin, checkBudgets, createDistribution, loadDistribution, lockDistribution, setPipeline, type LoadedDistribution } from '@mcp0/sdk';
import { publisher, signed, trusted } from '../../test/fixtures.js';
import { REFERENCE_WORKLOAD, componentShares, cpuPerSecond, planOperation, runBudgets, standardError } from '../src/budgets/index.js';
import { REPORT_FORMAT, renderHtml, renderTable, validateReport, type BudgetReport, type ConformanceReport } from '../src/report/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A locked distribution of the reference plugins from source; the standard pipeline when `agreements`. */
async function distribution(agreements: boolean): Promise<LoadedDistribution> {
  const parent = mkdtempSync(join(tmpdir(), 'mcp0-budgets-dist-'));
  dirs.push(parent);
  const dir = join(parent, 'dist');
  const assembler = generateKeyPair();
  await createDistribution(dir, { name: agreements ? 'budgets-test' : 'budgets-test-plain', assembler: assembler.publicKey });
  if (agreements) await addPlugin(dir, await signed('agreements'), { grants: ['kv:agreements/', 'crypto', 'clock'], publishers: [publisher.publicKey] });
  await addPlugin(dir, await signed('trace'), { grants: ['kv:trace/'], ...(agreements ? {} : { publishers: [publisher.publicKey] }) });
  await addPlugin(dir, await signed('storage'), { grants: ['blocks', 'random'] });
  await setPipeline(dir, { admit: agreements ? ['mcp0.agreements'] : [], observe: agreements ? ['mcp0.agreements', 'mcp0.trace'] : ['mcp0.trace'] });
  await lockDistribution(dir, assembler);
  return loadDistribution(dir, { trust: [assembler.publicKey] });
}

const agents = async () => [
  { name: 'memory', bytes: await signed('memory') },
  { name: 'counter', bytes: await signed('counter') },
];
// The run under test makes its temporary store in a temp folder of its own, so that budgets runs
// of other test files (or of another checkout on the machine) cannot show up in it.
const privateTmp = mkdtempSync(join(tmpdir(), 'mcp0-budgets-tmp-'));
dirs.push(privateTmp);
const budgetDirs = () => readdirSync(privateTmp).filter((d) => d.startsWith('mcp0-budgets-'));

describe('runBudgets', () => {
  let report: BudgetReport;
  let progress: string[];
  let tempBefore: string[];

  beforeAll(async () => {
    const dist = await distribution(true);
    progress = [];
    tempBefore = budgetDirs();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp; // os.tmpdir() reads it at each call, here and in child processes
    try {
      report = await runBudgets(dist, { quick: true, agents: await agents(), trust: [trusted], onProgress: (t) => progress.push(t) });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  }, 180_000);

  it('runs the reference workload for the --quick duration, with one denial in fifty', () => {
    const w = REFERENCE_WORKLOAD;
    const operations = w.quickDurationS * w.opsPerSecond;
    expect(report.workload).toMatchObject({
      agents: w.agents.reduce((a, k) => a + k.count, 0),
      opsPerSecond: w.opsPerSecond,
      payloadBytes: w.payloadBytes,
      operations,
      errors: 0,
      denials: Math.floor(operations / w.denyEvery),
    });
    // Open loop at a fixed rate: the run lasts at least the planned duration.
    expect(report.workload.durationS).toBeGreaterThanOrEqual(w.quickDurationS - 0.1);
    expect(progress.some((p) => p.includes(`${w.opsPerSecond} ops/s`))).toBe(true);
    expect(progress.some((p) => p.includes('without mcp0.agreements'))).toBe(true);
    // Measured in a process of its own, not in this one with its test heap.
    const pid = Number(/in a child process \(pid (\d+)\)/.exec(progress.join('\n'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
  });

  it('samples CPU and RSS at 10 Hz or more, over the whole run', () => {
    expect(report.usage.hz).toBeGreaterThanOrEqual(10);
    expect(report.samples.length).toBe(report.usage.samples);
    expect(report.samples.length).toBeGreaterThanOrEqual(report.workload.durationS * 10);
    expect(report.samples[0]!.t).toBe(0);
    const last = report.samples.at(-1)!;
    expect(last.t).toBeCloseTo(report.workload.durationS, 0);
    for (const [i, s] of report.samples.entries()) {
      if (i > 0) expect(s.t).toBeGreaterThanOrEqual(report.samples[i - 1]!.t);
      expect(s.rssMB).toBeGreaterThan(20);
      expect(s.cpuPercent).toBeGreaterThanOrEqual(0);
    }
    expect(Math.max(...report.samples.map((s) => s.rssMB))).toBeCloseTo(report.usage.rssPeakMB, 0);
    // The node did work: CPU above zero, and the reference figure is the local one times the factor.
    expect(report.usage.cpuPercent).toBeGreaterThan(0);
    expect(report.usage.cpuPercentReference).toBeCloseTo(report.usage.cpuPercent * report.usage.coreFactor, 1);
  });

  it("computes the gates from the measured usage and the distribution's budgets", () => {
    const again = checkBudgets({ ...report.usage, durationMs: report.workload.durationS * 1000 });
    expect(report.gates).toEqual(again);
    expect(report.gates.cpu.pass).toBe(report.usage.cpuPercentReference < 27);
    expect(report.gates.rssPeak).toMatchObject({ value: report.usage.rssPeakMB, limit: 827 });
    expect(report.gates.rssAvg).toMatchObject({ value: report.usage.rssAvgMB, limit: 640 });
  });

  it('meters every module over the run, agents by name, and measures the agreements share from it', () => {
    const ops = report.workload.operations;
    const agreements = report.metering['mcp0.agreements']!;
    // Each operation passes the admit hook; the permitted ones are observed too.
    expect(agreements.calls).toBeGreaterThanOrEqual(ops);
    expect(report.metering['mcp0.trace']!.calls).toBeGreaterThanOrEqual(ops - report.workload.denials);
    const agentCalls = Object.entries(report.metering)
      .filter(([n]) => n.startsWith('agent:'))
      .reduce((a, [, m]) => a + m.calls, 0);
    expect(agentCalls).toBe(ops - report.workload.denials);
    expect(Object.keys(report.metering)).toEqual(expect.arrayContaining(['agent:memory-1', 'agent:memory-4', 'agent:counter-1', 'agent:counter-4']));
    const byName = Object.fromEntries(report.components.map((c) => [c.component, c]));
    expect(Object.keys(byName)).toEqual(['kernel', 'api', 'mesh', 'agreements']);
    // Measured by difference against a run without the plugin: a share of the reference core no
    // larger than the whole process's, with the two CPU figures it came from in the note.
    const a = byName.agreements!;
    expect(a.budgetPercent).toBe(2);
    expect(a.measuredPercent).toBeGreaterThanOrEqual(0);
    expect(a.measuredPercent).toBeLessThanOrEqual(report.usage.cpuPercentReference);
    const [, withP, withoutP] = /this run's ([\d.]+)% of a core here minus ([\d.]+)% for the same workload run [\d.]+ s without it/.exec(a.note!)!;
    expect(Number(withP)).toBeCloseTo(report.usage.cpuPercent, 1);
    expect(a.measuredPercent).toBeCloseTo(Math.max(0, Number(withP) - Number(withoutP)) * report.usage.coreFactor, 1);
    const wall = (agreements.wallUsTotal / 1000 / (report.workload.durationS * 1000)) * 100 * report.usage.coreFactor;
    expect(Number(/metered wall time, which counts waiting too, came to ([\d.]+)%/.exec(a.note!)![1])).toBeCloseTo(wall, 0);
    expect(byName.kernel).toMatchObject({ budgetPercent: 15, measuredPercent: null });
    expect(byName.kernel!.note).toContain(`${report.usage.cpuPercentReference}%`);
    expect(byName.api).toMatchObject({ budgetPercent: 5, measuredPercent: null, note: 'not in this distribution' });
    expect(byName.mesh).toMatchObject({ budgetPercent: 5, measuredPercent: null, note: 'not in this distribution' });
  });

  it('removes its temporary store', () => {
    expect(budgetDirs().filter((d) => !tempBefore.includes(d))).toEqual([]);
  });

  it('makes a report that validates and renders as a table and a page', () => {
    const full: ConformanceReport = {
      format: REPORT_FORMAT,
      target: { kind: 'distribution', path: '/tmp/x', name: 'budgets-test', version: '0.1.0' },
      started: new Date().toISOString(),
      durationMs: 6000,
      quick: true,
      verdict: 'pass',
      summary: { pass: 0, fail: 0, skip: 0 },
      results: [],
      budgets: report,
    };
    expect(validateReport(JSON.parse(JSON.stringify(full)))).toEqual(full);
    const table = renderTable(full);
    expect(Number(/RSS peak\s+([\d.]+) MB/.exec(table)![1])).toBeCloseTo(report.usage.rssPeakMB, 0);
    expect(table).toMatch(/agent:memory-1\s+\d+/);
    expect(renderHtml(full).match(/<polyline/g)).toHaveLength(3);
  });
});

describe('runBudgets without agreements, and its options', () => {
  it('runs the workload on a distribution without agreements: no denials, no agreements share', async () => {
    const dist = await distribution(false);
    const progress: string[] = [];
    const r = await runBudgets(dist, {
      durationS: 1,
      coreFactor: 2,
      store: 'memory:',
      agents: await agents(),
      trust: [trusted],
      isolate: false,
      onProgress: (t) => progress.push(t),
    });
    expect(progress.join('\n')).not.toContain('child process');
    expect(r.workload).toMatchObject({ operations: REFERENCE_WORKLOAD.opsPerSecond, errors: 0, denials: 0 });
    expect(r.usage.coreFactor).toBe(2);
    expect(r.metering['mcp0.agreements']).toBeUndefined();
    expect(r.components.find((c) => c.component === 'agreements')).toMatchObject({ measuredPercent: null, note: 'not in this distribution' });
  }, 120_000);

  it('brings a failure in the child process back as a typed error with its code', async () => {
    const dist = await distribution(false);
    const bytes = new Uint8Array(dist.plugins[0]!.bytes);
    bytes[bytes.length - 1]! ^= 0xff;
    const broken = { ...dist, plugins: [{ ...dist.plugins[0]!, bytes }, ...dist.plugins.slice(1)] };
    const err = await runBudgets(broken, { durationS: 1, agents: await agents(), trust: [trusted] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Mcp0Error);
    expect((err as Mcp0Error).code).toMatch(/^E[A-Z]+$/);
    expect((err as Mcp0Error).code).not.toBe('EINTERNAL');
  }, 120_000);

  it('refuses a missing agent module, a bad duration and a bad core factor, naming what it expected', async () => {
    const dist = await distribution(false);
    const some = await agents();
    await expect(runBudgets(dist, { quick: true, agents: some.slice(0, 1), trust: [trusted] })).rejects.toThrow(/named "counter".*got \["memory"\]/);
    await expect(runBudgets(dist, { durationS: 0, agents: some, trust: [trusted] })).rejects.toSatisfy(
      (e) => e instanceof UsageError && e.code === 'EUSAGE' && /durationS: expected/.test(e.message),
    );
    await expect(runBudgets(dist, { durationS: Number.NaN, agents: some, trust: [trusted] })).rejects.toThrow(/got NaN/);
    await expect(runBudgets(dist, { quick: true, coreFactor: -1, agents: some, trust: [trusted] })).rejects.toThrow(
      /coreFactor: expected a positive number, got -1/,
    );
  }, 120_000);

  it('plans a deterministic mix with payloads of the documented size', () => {
    const ops = Array.from({ length: 100 }, (_, i) => planOperation(i));
    expect(ops).toEqual(Array.from({ length: 100 }, (_, i) => planOperation(i)));
    const remember = ops.filter((o) => o.intent === 'remember');
    expect(remember).toHaveLength(38);
    for (const o of remember) expect(Buffer.byteLength((o.input as { text: string }).text)).toBe(REFERENCE_WORKLOAD.payloadBytes);
    expect(ops.filter((o) => o.intent === 'reset').map((o) => ops.indexOf(o))).toEqual([49, 99]);
    expect(new Set(ops.filter((o) => o.module === 'memory').map((o) => o.instance))).toEqual(new Set([0, 1, 2, 3]));
  });
});

describe('component shares and their precision', () => {
  it('charges agreements the CPU it adds, with its noise and its wall time beside it', () => {
    const rows = componentShares({
      coreFactor: 2,
      cpuPercentReference: 30,
      agreements: { withPercent: 15, withoutPercent: 14.25, withoutDurationS: 30, noisePercent: 0.5, wallPercent: 12 },
    });
    expect(rows.map((r) => [r.component, r.budgetPercent, r.measuredPercent])).toEqual([
      ['kernel', 15, null],
      ['api', 5, null],
      ['mesh', 5, null],
      ['agreements', 2, 1.5],
    ]);
    expect(rows[3]!.note).toBe(
      "the CPU it adds: this run's 15% of a core here minus 14.25% for the same workload run 30 s without it, × 2; ± 1 (two standard errors); its hook calls' metered wall time, which counts waiting too, came to 24%",
    );
    expect(rows[0]!.note).toContain('the whole process used 30%');
  });

  it('never reports a negative share, says when the noise is unknown, and null without agreements', () => {
    const neg = componentShares({
      coreFactor: 1.8,
      cpuPercentReference: 20,
      agreements: { withPercent: 10, withoutPercent: 11, withoutDurationS: 1, noisePercent: Number.NaN, wallPercent: 1 },
    });
    expect(neg[3]!.measuredPercent).toBe(0);
    expect(neg[3]!.note).toContain('± unknown (run too short)');
    expect(componentShares({ coreFactor: 1.8, cpuPercentReference: 20, agreements: null })[3]).toEqual({
      component: 'agreements',
      budgetPercent: 2,
      measuredPercent: null,
      note: 'not in this distribution',
    });
    expect(() => componentShares({ coreFactor: 0, cpuPercentReference: 1, agreements: null })).toThrow(/coreFactor: expected a positive number, got 0/);
  });

  it('bins CPU into whole seconds and computes the standard error of their mean', () => {
    // 100 ms samples: 20 ms of CPU each in the first second (20%), 50 ms in the second (50%), and a partial third second left out.
    const samples = [{ t: 0, cpuUs: 0, rss: 1 }, ...Array.from({ length: 25 }, (_, i) => ({ t: (i + 1) * 100, cpuUs: i < 10 ? 20_000 : 50_000, rss: 1 }))];
    expect(cpuPerSecond(samples)).toEqual([20, 50]);
    expect(standardError([20, 50])).toBeCloseTo(15, 10);
    expect(standardError([10, 12, 11, 13])).toBeCloseTo(Math.sqrt(5 / 3 / 4), 10);
    expect(standardError([5])).toBeNaN();
  });
});
