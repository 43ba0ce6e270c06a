/**
 * The real binary, `node tools/bin/mcp0.js`, in a child process: exit codes, and stdout carrying
 * only results while diagnostics go to stderr. Brings the built packages up to date first (test/built.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../test/built.js';
import { runProcess, signedFile, tempDir, type ProcessResult } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

const mcp0 = (...args: string[]): Promise<ProcessResult> => runProcess(process.execPath, ['tools/bin/mcp0.js', ...args], { cwd: ROOT });

const GRANTS = ['--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random'];

beforeAll(() => {
  buildPackages();
}, 300_000);

describe('tools/bin/mcp0.js', () => {
  it('alone: usage on stdout, exit 2; --help: exit 0; unknown command: stderr only, exit 2', async () => {
    const bare = await mcp0();
    expect(bare.code).toBe(2);
    expect(bare.stdout).toMatch(/usage: mcp0 <command>/);

    const help = await mcp0('verify', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: mcp0 verify/);
    expect(help.stderr).toBe('');

    const unknown = await mcp0('nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/unknown command "nope"/);
  });

  it('keygen, sign, verify: results on stdout, failures on stderr, exit codes 0/1/2', async () => {
    const f = await signedFile('hello');
    const key = join(tempDir(), 'k.jwk');
    const made = await mcp0('keygen', '--out', key);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/key id:/);
    expect(made.stderr).toBe('');

    const ok = await mcp0('verify', f.file, '--trust', f.pub);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: mcp0\.hello/);
    expect(ok.stderr).toBe(`trust: publisher ${f.kid} from --trust ${f.pub}\n`);

    const bytes = readFileSync(f.file);
    bytes[bytes.length - 3]! ^= 0xff;
    const tampered = join(f.dir, 'tampered.wasm');
    writeFileSync(tampered, bytes);
    const bad = await mcp0('verify', tampered, '--trust', f.pub);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/signature/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const untrusted = await mcp0('verify', f.file, '--trust', `${key.replace(/\.jwk$/, '')}.pub.jwk`);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/trust/);

    const usage = await mcp0('verify', f.file);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');

    const debug = await mcp0('sign', f.file, '--key', f.pub, '--debug');
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('call: JSON lines on stdout only; exit 1 on a failed call; the process ends after worker calls', async () => {
    const f = await signedFile('hello');
    for (const tier of ['inline', 'worker']) {
      const r = await mcp0(
        'call',
        f.file,
        '--trust',
        f.pub,
        ...GRANTS,
        '--isolation',
        tier,
        'greet={"name":"Ada ✓"}',
        'count={"key":"a"}',
        'count={"key":"a"}',
      );
      expect(r.code, r.stderr).toBe(0);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([
        { export: 'greet', ok: true, output: 'hello, Ada ✓' },
        { export: 'count', ok: true, output: { key: 'a', value: 1 } },
        { export: 'count', ok: true, output: { key: 'a', value: 2 } },
      ]);
    }
    const failed = await mcp0('call', f.file, '--trust', f.pub, ...GRANTS, 'greet={}');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ export: 'greet', ok: false, error: { code: 'EINPUT' } });

    const noGrant = await mcp0('call', f.file, '--trust', f.pub, 'greet={"name":"x"}');
    expect(noGrant.code).toBe(2);
    expect(noGrant.stdout).toBe('');
    expect(noGrant.stderr).toMatch(/ECAPABILITY/);
  });

  it('call: a timed-out worker call does not keep the process alive', async () => {
    const f = await signedFile('hostile');
    const r = await mcp0('call', f.file, '--trust', f.pub, '--isolation', 'worker', '--timeout-ms', '200', 'loop', 'ok="x"');
    expect(r.code).toBe(1);
    const [loop, ok] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(loop).toMatchObject({ export: 'loop', ok: false, error: { code: 'ETIMEOUT' } });
    expect(ok).toEqual({ export: 'ok', ok: true, output: 'x' });
  });
});
