// The report's schema check, the human table and the HTML page: real content in, hostile text made
// harmless (escaped in HTML, control characters stripped on the terminal), nothing external.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Mcp0Error } from '@mcp0/abi';
import { ReportError, renderHtml, renderTable, reportSchema, validateReport, type ConformanceReport } from '../src/report/index.js';
import { HOSTILE, sampleReport } from './report-fixture.js';

const clone = (r: ConformanceReport) => JSON.parse(JSON.stringify(r)) as Record<string, any>;

function problemsOf(value: unknown): string[] {
  try {
    validateReport(value);
  } catch (e) {
    expect(e).toBeInstanceOf(ReportError);
    expect(e).toBeInstanceOf(Mcp0Error);
    expect((e as ReportError).code).toBe('EINPUT');
    return (e as ReportError).details.problems as string[];
  }
  throw new Error('expected the value to be refused');
}

describe('validateReport', () => {
  it('accepts a full report and one without budgets, and ships the schema file it checks with', () => {
    const r = sampleReport();
    expect(validateReport(clone(r))).toEqual(r);
    const { budgets: _, ...plain } = r;
    expect(validateReport(plain)).toEqual(plain);
    expect(reportSchema).toEqual(JSON.parse(readFileSync(new URL('../report.schema.json', import.meta.url), 'utf8')));
  });

  it.each([
    [
      'the wrong format',
      (r: any) => {
        r.format = 'mcp0.conformance/2';
      },
      '/format',
    ],
    [
      'an unknown status',
      (r: any) => {
        r.results[0].status = 'ok';
      },
      '/results/0/status',
    ],
    [
      'a negative duration',
      (r: any) => {
        r.results[1].ms = -1;
      },
      '/results/1/ms',
    ],
    [
      'a missing verdict',
      (r: any) => {
        delete r.verdict;
      },
      "must have required property 'verdict'",
    ],
    [
      'an extra property',
      (r: any) => {
        r.results[0].colour = 'red';
      },
      'additional properties',
    ],
    [
      'a start that is not a date-time',
      (r: any) => {
        r.started = 'yesterday';
      },
      '/started',
    ],
    [
      'a sample without RSS',
      (r: any) => {
        delete r.budgets.samples[3].rssMB;
      },
      '/budgets/samples/3',
    ],
    [
      'a component measured as text',
      (r: any) => {
        r.budgets.components[0].measuredPercent = 'n/a';
      },
      '/budgets/components/0/measuredPercent',
    ],
    [
      'a gate without pass',
      (r: any) => {
        delete r.budgets.gates.cpu.pass;
      },
      '/budgets/gates/cpu',
    ],
  ])('refuses %s, naming where', (_what, spoil, where) => {
    const r = clone(sampleReport());
    spoil(r);
    expect(problemsOf(r).join('\n')).toContain(where);
  });

  it('refuses values that are not objects at all', () => {
    for (const v of [null, 42, 'report', [], undefined]) expect(problemsOf(v).length).toBeGreaterThan(0);
  });
});

describe('renderTable', () => {
  const table = renderTable(sampleReport());
  const lines = table.split('\n');

  it('has one row per case with subject, suite, case, result, ms and message', () => {
    const header = lines.findIndex((l) => /^subject\s+suite\s+case\s+result\s+ms\s+message$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1, header + 6);
    expect(rows.map((l) => l.split(/\s{2,}/)[3])).toEqual(['PASS', 'PASS', 'FAIL', 'FAIL', 'SKIP']);
    expect(rows[0]).toMatch(/^mcp0\.trace\s+abi\s+version marker\s+PASS\s+3$/);
    expect(rows[4]).toMatch(/16 MiB payloads\s+SKIP\s+0\s+slow: left out by --quick$/);
  });

  it('strips control characters so a hostile message cannot drive the terminal', () => {
    expect(table).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(table).toContain('expected EINPUT, got [2J[31mcleared your terminal[0m');
    const r = sampleReport();
    r.results[0]!.message = 'expected 3 lines,\r\ngot\tone';
    expect(renderTable(r)).toMatch(/version marker\s+PASS\s+3\s+expected 3 lines, got one\n/);
  });

  it('shows the budgets with their gates, the components and the metering, then the verdict', () => {
    expect(table).toContain('Budgets: 8 agents, 20 ops/s, 256 B payloads, 4.9 s: 100 operations, 0 errors, 2 denials; 50 samples at 10.2 Hz');
    expect(table).toMatch(/CPU\s+10% of a core here, 18% of the reference core \(× 1\.8\)\s+< 27%\s+PASS/);
    expect(table).toMatch(/RSS peak\s+149 MB\s+< 827 MB\s+PASS/);
    expect(table).toMatch(/agreements\s+2%\s+1\.25%\s+within\s+metered wall time/);
    expect(table).toMatch(/mesh\s+5%\s+-\s+-\s+not in this distribution/);
    expect(table).toMatch(/mcp0\.agreements\s+198\s+0\s+814\s+301\.2\s+6144/);
    expect(lines.at(-2)).toBe('Verdict: FAIL (2 passed, 2 failed, 1 skipped; budgets within the gates) in 12.3 s');
  });

  it('says over for a component whose measured share passes its budget (reported, not gated)', () => {
    const over = sampleReport();
    const agreements = over.budgets!.components.find((c) => c.component === 'agreements')!;
    agreements.measuredPercent = 4.4;
    expect(renderTable(over)).toMatch(/agreements\s+2%\s+4\.4%\s+over\s+metered wall time/);
    expect(renderHtml(over)).toMatch(/<td[^>]*>4\.4%<\/td><td[^>]*>over<\/td>/);
    expect(renderTable(over)).toContain('budgets within the gates');
  });

  it('says OVER when a gate fails, and leaves the budgets out when there are none', () => {
    const over = sampleReport();
    over.budgets!.gates.rssPeak = { value: 900, limit: 827, pass: false };
    expect(renderTable(over)).toMatch(/RSS peak\s+149 MB\s+< 827 MB\s+FAIL/);
    expect(renderTable(over)).toContain('budgets OVER the gates');
    const { budgets: _, ...plain } = sampleReport();
    expect(renderTable(plain)).not.toContain('Budgets');
    expect(renderTable(plain)).toContain('Verdict: FAIL (2 passed, 2 failed, 1 skipped) in 12.3 s');
  });
});

describe('renderHtml', () => {
  const html = renderHtml(sampleReport());

  it('escapes every piece of text a plugin controls', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;document.body.dataset.pwned = &quot;script&quot;&lt;/script&gt; &amp; &quot;ok&quot;');
    expect(html).toContain('cas &lt;img src=x onerror=&quot;document.body.dataset.pwned = &#39;img&#39;&quot;&gt;');
    expect(html).toContain('dist/&lt;standard&gt;/build');
    expect(html).not.toContain('\u001b');
  });

  it('is self-contained: no script, no link, no external URL', () => {
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed|image|use)\b|\s(src|href|xlink:href)=["']|url\(|@import/i);
    expect(html.match(/https?:\/\/[^"]*/g) ?? []).toEqual(['http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg']);
  });

  it('has a pass/fail row per case and both charts with their gate lines', () => {
    expect(html.match(/<tr class="case (pass|fail|skip)">/g)).toHaveLength(5);
    expect(html.match(/<tr class="case fail">/g)).toHaveLength(2);
    expect(html).toContain('<svg id="cpu-chart"');
    expect(html).toContain('<svg id="rss-chart"');
    // CPU here and on the reference core (one point per interval: 50 samples at 10 Hz are coarser
    // than the windows), and RSS (one point per sample).
    const series = [...html.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(series).toEqual([49, 49, 50]);
    expect(html.match(/<line class="gate"/g)).toHaveLength(3);
    expect(html).toContain('CPU gate 27% (reference)');
    expect(html).toContain('RSS peak gate 827 MB');
    expect(html).toContain('RSS average gate 640 MB');
  });

  it('draws each series inside the chart, the gates above the data when the data is lower', () => {
    const [cpu] = [...html.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
    for (const [x, y] of cpu!) {
      expect(x).toBeGreaterThanOrEqual(56);
      expect(x).toBeLessThanOrEqual(704);
      expect(y).toBeGreaterThanOrEqual(28);
      expect(y).toBeLessThanOrEqual(224);
    }
    const gateY = Number(/<line class="gate"[^>]*y1="([\d.]+)"/.exec(html)![1]);
    expect(Math.min(...cpu!.map((p) => p[1]!))).toBeGreaterThan(gateY);
  });

  it("averages a long run's CPU over windows, about 120 points, keeping the mean", () => {
    const r = sampleReport(1801);
    // 30 Hz for 60 s: a spike every third sample, 30% on average.
    r.budgets!.samples = Array.from({ length: 1801 }, (_, i) => ({ t: i / 30, cpuPercent: i === 0 ? 0 : i % 3 === 0 ? 70 : 10, rssMB: 200 }));
    const page = renderHtml(r);
    expect(page).toContain('CPU over time, averaged over 500 ms windows');
    const [here, reference] = [...page.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').map((p) => Number(p.split(',')[1])));
    expect(here!.length).toBeGreaterThanOrEqual(119);
    expect(here!.length).toBeLessThanOrEqual(121);
    // Every window holds whole spike periods, so every point sits at the 30% mean: one flat line.
    expect(new Set(here!.map((y) => y.toFixed(0))).size).toBe(1);
    expect(new Set(reference!.map((y) => y.toFixed(0))).size).toBe(1);
    expect(reference![0]!).toBeLessThan(here![0]!);
  });

  it('renders a report without budgets or cases', () => {
    const { budgets: _, ...plain } = sampleReport();
    const empty = renderHtml({ ...plain, results: [], summary: { pass: 0, fail: 0, skip: 0 }, verdict: 'pass' });
    expect(empty).not.toContain('<svg');
    expect(empty).toContain('<span id="verdict" class="verdict pass">PASS</span>');
  });
});
