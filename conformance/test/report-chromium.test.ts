// The HTML report rendered by a real browser: headless Chromium from Debian's `chromium` package
// loads the file, and the DOM it builds has every case row, both charts with their gate lines,
// and none of the hostile markup turned into elements. In CI (env CI or MCP0_FERRETDB set, as for
// the MongoDB tests) a missing Chromium fails the test; elsewhere it is skipped with a warning.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/report/index.js';
import { sampleReport } from './report-fixture.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = Boolean(process.env.CI || process.env.MCP0_FERRETDB);
const available = existsSync(CHROMIUM);
if (!available && !IN_CI) console.warn(`report-chromium: ${CHROMIUM} is missing (apt-get install chromium); the HTML rendering test is skipped`);

const dir = mkdtempSync(join(tmpdir(), 'mcp0-report-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Chromium's flags for a container: no sandbox (root), no GPU, a fresh profile per run. */
function chromium(args: string[]): Promise<{ stdout: string }> {
  return run(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`, ...args], {
    timeout: 60_000,
    maxBuffer: 32 << 20,
  });
}

describe('the HTML report in headless Chromium', () => {
  it('is installed where CI needs it', () => {
    if (IN_CI) expect(available, `${CHROMIUM} must exist in CI: .ci/run installs Debian's chromium package`).toBe(true);
  });

  it.skipIf(!available && !IN_CI)('renders every case row and both charts, and runs none of the hostile markup', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(sampleReport()));
    const { stdout: dom } = await chromium(['--dump-dom', pathToFileURL(file).href]);
    expect(dom).toContain('<h1>MCP-ZERO conformance: standard@0.1.0</h1>');
    expect(dom.match(/<tr class="case (pass|fail|skip)">/g)).toHaveLength(5);
    expect(dom.match(/<td class="status">FAIL<\/td>/g)).toHaveLength(2);
    expect(dom).toMatch(/<svg id="cpu-chart"[^>]*>/);
    expect(dom).toMatch(/<svg id="rss-chart"[^>]*>/);
    expect(dom.match(/<polyline /g)).toHaveLength(3);
    expect(dom.match(/<line class="gate"/g)).toHaveLength(3);
    // The hostile case name and message stayed text: no element was made of them, nothing ran.
    expect(dom).not.toMatch(/<script|<img/);
    expect(dom).not.toContain('data-pwned');
    expect(dom).toContain('expected ECONFLICT, got &lt;script&gt;document.body.dataset.pwned = "script"&lt;/script&gt; &amp; "ok"');
  });

  it.skipIf(!available && !IN_CI)('paints the page: a PNG of the asked size, far from blank', async () => {
    const file = join(dir, 'shot.html');
    writeFileSync(file, renderHtml(sampleReport()));
    const png = join(dir, 'shot.png');
    await chromium(['--hide-scrollbars', '--window-size=1000,800', `--screenshot=${png}`, pathToFileURL(file).href]);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1000, 800]);
    // A blank page compresses to almost nothing; charts, tables and text do not.
    expect(bytes.length).toBeGreaterThan(20_000);
  });
});
