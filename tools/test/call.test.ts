/**
 * `mcp0 call`: one kernel, exports called in order, JSON ⇄ CBOR, one JSON line per call, and the
 * exit code: 0 all ok, 1 some call failed, 2 usage error or a module that would not load.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { KEYRING, lines, run, signedFile, tempDir, writeKeys } from './helpers.js';

const GRANTS = ['--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random'];
const BIN = resolve(import.meta.dirname, '..', 'bin', 'mcp0.js');

async function hello(...args: string[]) {
  const f = await signedFile('hello');
  return run('call', f.file, '--trust', f.pub, ...GRANTS, ...args);
}

describe('mcp0 call', () => {
  for (const tier of ['inline', 'worker'] as const) {
    describe(`hello, ${tier} tier`, () => {
      it('greets in UTF-8, counts across calls, stamps time and nonce', async () => {
        const r = await hello('--isolation', tier, 'greet={"name":"Ada ✓"}', 'count={"key":"visits"}', 'count={"key":"visits","by":41}', 'stamp', 'stamp={}');
        expect(r.code, r.err).toBe(0);
        const out = lines(r.out);
        expect(out).toHaveLength(5);
        expect(out[0]).toEqual({ export: 'greet', ok: true, output: 'hello, Ada ✓' });
        expect(out[1]).toEqual({ export: 'count', ok: true, output: { key: 'visits', value: 1 } });
        expect(out[2]).toEqual({ export: 'count', ok: true, output: { key: 'visits', value: 42 } });
        for (const s of out.slice(3)) {
          expect(s).toMatchObject({ export: 'stamp', ok: true });
          const { time, nonce } = s.output as { time: number; nonce: { $bytes: string } };
          expect(Math.abs(time - Date.now())).toBeLessThan(60_000);
          expect(Buffer.from(nonce.$bytes, 'base64')).toHaveLength(8);
        }
      });

      it('prints the failure line and exits 1 on bad input, and goes on with the next call', async () => {
        const r = await hello('--isolation', tier, 'greet={"name":42}', 'greet={"name":"ok"}');
        expect(r.code).toBe(1);
        const [bad, good] = lines(r.out);
        expect(bad).toMatchObject({ export: 'greet', ok: false, error: { code: 'EINPUT' } });
        expect(bad!.error!.message).toMatch(/name/);
        expect(good).toEqual({ export: 'greet', ok: true, output: 'hello, ok' });
      });
    });
  }

  it('each invocation starts with fresh state', async () => {
    expect(lines((await hello('count={"key":"k"}')).out)[0]!.output).toEqual({ key: 'k', value: 1 });
    expect(lines((await hello('count={"key":"k"}')).out)[0]!.output).toEqual({ key: 'k', value: 1 });
  });

  it.each([
    ['greet', 'no input at all'],
    ['greet={}', 'a missing field'],
    ['greet=[1,2,3]', 'an array instead of a map'],
    ['greet="Ada"', 'a bare string'],
    ['greet=null', 'null'],
    ['count={"key":"k","by":-1}', 'a negative counter step'],
    ['count={"key":"k","by":1.5}', 'a fractional counter step'],
    ['greet={"$bytes":"AAECAw=="}', 'bytes'],
  ])('rejects %s (%s) with EINPUT, exit 1', async (callArg) => {
    const r = await hello(callArg);
    expect(r.code).toBe(1);
    expect(lines(r.out)).toEqual([expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'EINPUT' }) })]);
  });

  it('passes bytes through as {"$bytes"} both ways', async () => {
    const r = await hello('echo={"$bytes":"AAEC/w=="}');
    expect(r.code, r.err).toBe(0);
    expect(lines(r.out)).toEqual([{ export: 'echo', ok: true, output: { $bytes: 'AAEC/w==' } }]);
    const big = JSON.stringify({ s: 'x'.repeat(100_000), n: [1, -2, 3.5, true, null] });
    const r2 = await hello(`echo=${big}`);
    expect(lines(r2.out)[0]!.output).toEqual(JSON.parse(big));
  });

  it('takes --json as every command does: its output is JSON lines either way', async () => {
    const plain = await hello('greet={"name":"Ada"}');
    const json = await hello('--json', 'greet={"name":"Ada"}');
    expect(json.code, json.err).toBe(0);
    expect(json.out).toBe(plain.out);
    expect(lines(json.out)).toEqual([{ export: 'greet', ok: true, output: 'hello, Ada' }]);
  });

  it('splits <export>=<json> at the first "="', async () => {
    const r = await hello('greet={"name":"a=b"}');
    expect(lines(r.out)[0]!.output).toBe('hello, a=b');
  });

  it('reads an input from a file (=@<file>) and from stdin (=@-), past what an argument list holds', async () => {
    const dir = tempDir();
    const name = 'x'.repeat(300_000);
    const file = join(dir, 'input.json');
    writeFileSync(file, JSON.stringify({ name }));
    const r = await hello(`greet=@${file}`);
    expect(r.code, r.err).toBe(0);
    expect(lines(r.out)[0]!.output).toBe(`hello, ${name}`);
    const missing = await hello(`greet=@${join(dir, 'none.json')}`);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/greet=@.*none\.json: cannot read/);
    expect((await hello('greet=@-', 'greet=@-')).err).toMatch(/stdin can feed one call only/);

    const f = await signedFile('hello');
    const piped = spawnSync(process.execPath, ['--no-warnings', BIN, 'call', f.file, '--trust', f.pub, ...GRANTS, 'greet=@-'], {
      input: JSON.stringify({ name: 'from stdin' }),
      encoding: 'utf8',
    });
    expect(piped.status, piped.stderr).toBe(0);
    expect(lines(piped.stdout)[0]!.output).toBe('hello, from stdin');
  });

  it('fails a call to an unknown or reserved export (exit 1) without stopping the rest', async () => {
    const r = await hello('nosuch', 'mcp0_stop', 'mcp0_init', 'greet={"name":"still here"}');
    expect(r.code).toBe(1);
    const out = lines(r.out);
    expect(out.slice(0, 3).map((l) => l.ok)).toEqual([false, false, false]);
    expect(out[0]!.error!.code).toBe('ENOTFOUND');
    expect(out[3]).toEqual({ export: 'greet', ok: true, output: 'hello, still here' });
  });

  it('exits 2 with ECAPABILITY when a required grant is missing', async () => {
    const f = await signedFile('hello');
    const r = await run('call', f.file, '--trust', f.pub, '--grant', 'kv:hello/', '--grant', 'clock', 'greet={"name":"x"}');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/ECAPABILITY/);
    expect(r.err).toMatch(/random/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for an untrusted signer, naming the trust check', async () => {
    const f = await signedFile('hello');
    const other = writeKeys(tempDir(), generateKeyPair(), 'other');
    const r = await run('call', f.file, '--trust', other.pub, ...GRANTS, 'greet={"name":"x"}');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/EUNTRUSTED/);
    // No --trust at all: nothing is trusted.
    const none = await run('call', f.file, ...GRANTS, 'greet={"name":"x"}');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/EUNTRUSTED/);
  });

  it('trusts a key id from the keyring', async () => {
    const f = await signedFile('hello');
    copyFileSync(f.pub, join(KEYRING, `${f.kid}.jwk`));
    const r = await run('call', f.file, `--trust=${f.kid}`, ...GRANTS, 'greet={"name":"by id"}');
    expect(r.code, r.err).toBe(0);
    expect(lines(r.out)[0]!.output).toBe('hello, by id');
    const unknown = await run('call', f.file, `--trust=${generateKeyPair().kid}`, ...GRANTS, 'greet={"name":"x"}');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
  });

  it('exits 2 on usage errors, before calling anything', async () => {
    const f = await signedFile('hello');
    const base = ['call', f.file, '--trust', f.pub, ...GRANTS];
    const cases: string[][] = [
      ['greet={"name":'],
      ['greet=not json'],
      [],
      ['--isolation', 'thread', 'greet={"name":"x"}'],
      ['--timeout-ms', '0', 'greet={"name":"x"}'],
      ['--timeout-ms', 'soon', 'greet={"name":"x"}'],
      ['--memory-pages', '-1', 'greet={"name":"x"}'],
      ['--memory-pages', '1e9', 'greet={"name":"x"}'],
      ['--grant', 'root', 'greet={"name":"x"}'],
      ['--grant', 'clock:forever', 'greet={"name":"x"}'],
      ['--config', '{broken', 'greet={"name":"x"}'],
      ['--no-such-flag', 'greet={"name":"x"}'],
    ];
    for (const extra of cases) {
      const r = await run(...base, ...extra);
      expect(r.code, `${extra.join(' ')}: ${r.err}`).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect((await run('call')).code).toBe(2);
  });

  it('exits 2 for a file that is not a module', async () => {
    const dir = tempDir();
    const keys = writeKeys(dir, generateKeyPair());
    const junk = join(dir, 'junk.wasm');
    writeFileSync(junk, 'not wasm');
    const r = await run('call', junk, '--trust', keys.pub, 'x');
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  describe('hostile module', () => {
    it('times out a loop in the worker tier (ETIMEOUT, exit 1), then the next call succeeds', async () => {
      const f = await signedFile('hostile');
      const started = Date.now();
      const r = await run('call', f.file, '--trust', f.pub, '--isolation', 'worker', '--timeout-ms', '300', 'loop', 'ok="after"');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.code).toBe(1);
      const [loop, ok] = lines(r.out);
      expect(loop).toMatchObject({ export: 'loop', ok: false, error: { code: 'ETIMEOUT' } });
      expect(ok).toEqual({ export: 'ok', ok: true, output: 'after' });
    });

    it('survives a trap and a stack overflow inline, then the next call succeeds', async () => {
      const f = await signedFile('hostile');
      const r = await run('call', f.file, '--trust', f.pub, 'trap', 'recurse', 'ok={"still":"alive"}');
      expect(r.code).toBe(1);
      const out = lines(r.out);
      expect(out[0]).toMatchObject({ export: 'trap', ok: false, error: { code: 'ETRAP' } });
      expect(out[1]).toMatchObject({ export: 'recurse', ok: false });
      expect(out[2]).toEqual({ export: 'ok', ok: true, output: { still: 'alive' } });
    });

    it('holds --memory-pages against a memory bomb (EMEMORY), then the next call succeeds', async () => {
      const f = await signedFile('hostile');
      const r = await run('call', f.file, '--trust', f.pub, '--isolation', 'worker', '--memory-pages', '64', 'bomb', 'ok=1');
      expect(r.code).toBe(1);
      const [bomb, ok] = lines(r.out);
      expect(bomb).toMatchObject({ export: 'bomb', ok: false, error: { code: expect.stringMatching(/EMEMORY|ETRAP/) } });
      expect(ok).toEqual({ export: 'ok', ok: true, output: 1 });
    });

    it('reports output that is not CBOR as {"$raw"}', async () => {
      const f = await signedFile('hostile');
      const r = await run('call', f.file, '--trust', f.pub, 'huge=3');
      expect(r.code, r.err).toBe(0);
      // Three zero bytes: CBOR 0 followed by trailing bytes, which is not one CBOR item.
      expect(lines(r.out)[0]).toEqual({ export: 'huge', ok: true, output: { $raw: 'AAAA' } });
    });
  });
});
