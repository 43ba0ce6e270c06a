/**
 * `mcp0 conformance`: a plugin author's own plugin (made with `mcp0 new`) passes; a deliberately
 * broken one fails, naming the case; the standard distribution passes --quick; the reports are
 * written and valid; misuse is a usage error.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateReport } from '@mcp0/conformance';
import { run, signedFile, tempDir, writeKeys } from './helpers.js';

const STANDARD = resolve(import.meta.dirname, '..', '..', 'distributions', 'standard', 'build');

describe('mcp0 conformance', () => {
  it('passes a plugin made with mcp0 new, and writes a valid JSON report', async () => {
    const dir = join(tempDir(), 'greeter');
    expect((await run('new', dir, '--name', 'acme.greeter')).code).toBe(0);
    expect((await run('build', dir)).code).toBe(0);
    const keys = writeKeys(tempDir());
    const wasm = join(dir, 'build', 'greeter.wasm');
    expect((await run('sign', wasm, '--key', keys.priv)).code).toBe(0);
    const json = join(tempDir(), 'report.json');
    const r = await run('conformance', wasm, '--trust', keys.pub, '--quick', '--out', json);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/acme\.greeter\s+abi\s+signature verifies/);
    expect(r.out).toMatch(/Verdict: PASS/);
    const report = validateReport(JSON.parse(readFileSync(json, 'utf8')));
    expect(report).toMatchObject({ verdict: 'pass', target: { kind: 'plugin', name: 'acme.greeter' }, quick: true });
    // --json is a switch, as in every command: the same report on stdout instead of the table.
    const printed = await run('conformance', wasm, '--trust', keys.pub, '--quick', '--json');
    expect(printed.code).toBe(0);
    expect(validateReport(JSON.parse(printed.out))).toMatchObject({ verdict: 'pass', summary: report.summary });
    const old = await run('conformance', wasm, '--trust', keys.pub, '--quick', '--json', json);
    expect(old.code).toBe(2);
    expect(old.err).toContain(`--json prints the report on stdout; to write it to ${json}, give --out ${json}`);
  });

  it('fails a broken storage plugin and names the failing case (exit 1)', async () => {
    const broken = await signedFile('broken-storage');
    const r = await run('conformance', broken.file, '--trust', broken.pub, '--quick');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/role mcp0\.storage@1\s+\S.*FAIL/);
    expect(r.out).toMatch(/Verdict: FAIL/);
  });

  it('fails a plugin signed by a key it was not told to trust', async () => {
    const hello = await signedFile('hello');
    const stranger = writeKeys(tempDir(), (await import('@mcp0/abi')).generateKeyPair(), 'stranger');
    const r = await run('conformance', hello.file, '--trust', stranger.pub, '--quick');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/signature verifies against the trusted keys\s+FAIL/);
  });

  it('passes the standard distribution (--quick, --dev: the local build) and writes an HTML report', async () => {
    const html = join(tempDir(), 'report.html');
    const r = await run('conformance', STANDARD, '--quick', '--dev', '--html', html);
    expect(r.code, r.out).toBe(0);
    expect(r.err).toMatch(/WARNING: --dev/);
    for (const plugin of ['mcp0.agreements', 'mcp0.trace', 'mcp0.storage', 'mcp0.rpc']) expect(r.out).toContain(plugin);
    expect(r.out).toContain('role mcp0.rpc@1');
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('mcp0.storage');
  });

  it('refuses misuse with exit 2', async () => {
    const hello = await signedFile('hello');
    expect((await run('conformance', hello.file, '--budgets', '--trust', hello.pub)).code).toBe(2);
    expect((await run('conformance', join(tempDir(), 'nothing.wasm'))).code).toBe(2);
    expect((await run('conformance', STANDARD, '--core-factor', 'fast')).code).toBe(2);
  });
});
