/** The CLI shell: help for every command, the exit codes of dispatch, and the error policy. */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '@mcp0/tools';
import { run, signedFile, tempDir } from './helpers.js';

const STACK = /\n\s+at /;

describe('mcp0', () => {
  it('alone prints the usage and exits 2', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/usage: mcp0 <command>/);
    for (const c of COMMANDS) expect(r.out).toContain(c.name);
  });

  it.each([['--help'], ['-h'], ['help']])('%s prints the overview and exits 0', async (flag) => {
    const r = await run(flag);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: mcp0 <command>/);
  });

  it.each([['--version'], ['-V'], ['version']])('%s prints the version of mcp0 and of the ABI, exits 0', async (flag) => {
    const r = await run(flag);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^mcp0 \d+\.\d+\.\d+ \(plugin ABI v\d+\.\d+\.\d+, node v\d+/);
  });

  it("help <command> prints that command's help; help <unknown> exits 2", async () => {
    const r = await run('help', 'call');
    expect(r.code).toBe(0);
    expect(r.out).toBe((await run('call', '--help')).out);
    const bad = await run('help', 'frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/^mcp0 help: unknown command "frobnicate"/);
  });

  it('lists the commands the spec names', () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(
      [
        'agent',
        'agreement',
        'build',
        'call',
        'dist',
        'inspect',
        'keygen',
        'keyring',
        'mcp',
        'new',
        'pack',
        'remote',
        'sign',
        'conformance',
        'start',
        'store',
        'trace',
        'verify',
      ].sort(),
    );
  });

  it.each(['frobnicate', 'KEYGEN', '--version-of-nothing', '', 'verify;rm'])('exits 2 for the unknown command %j, on stderr', async (name) => {
    const r = await run(name, 'x');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/unknown command/);
  });

  describe.each(COMMANDS.map((c) => [c.name]))('%s --help', (name) => {
    it('prints usage and options on stdout, exits 0, runs nothing', async () => {
      for (const flag of ['--help', '-h']) {
        const r = await run(name, flag);
        expect(r.code).toBe(0);
        expect(r.err).toBe('');
        expect(r.out).toMatch(new RegExp(`^mcp0 ${name}: `));
        expect(r.out).toContain(`usage: mcp0 ${name} `);
        expect(r.out).toMatch(/--help/);
        expect(r.out).toMatch(/--debug/);
      }
      // --help wins over missing or bad arguments: nothing is run.
      const r = await run(name, 'a', 'b', 'c', '--help');
      expect(r.code).toBe(0);
    });

    it('exits 2 for an unknown option, showing the usage', async () => {
      const r = await run(name, '--definitely-not-an-option');
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(new RegExp(`^mcp0 ${name}: EUSAGE: `));
      expect(r.err).toContain(`usage: mcp0 ${name} `);
    });
  });

  describe('errors', () => {
    it('go to stderr as one line, without a stack trace', async () => {
      const f = await signedFile('hello');
      const r = await run('sign', f.file, '--key', f.pub);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^mcp0 sign: EUSAGE: .*private key/);
      expect(r.err).not.toMatch(STACK);
    });

    it('carry a stack trace under --debug', async () => {
      const f = await signedFile('hello');
      const r = await run('sign', f.file, '--key', f.pub, '--debug');
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^mcp0 sign: EUSAGE: .*private key/);
      expect(r.err).toMatch(STACK);
    });

    it('a missing file is named, with the errno code', async () => {
      const file = join(tempDir(), 'missing.wasm');
      const r = await run('inspect', file);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^mcp0 inspect: ENOENT: no such file/); // the code once, not "ENOENT: ENOENT:"
      expect(r.err).toContain(file);
      expect(r.err).not.toMatch(STACK);
    });

    // One rule (README, "Exit codes"): an input file that is not there means the command could not run.
    it.each([
      ['call', (f: string, pub: string) => ['call', f, 'greet={"name":"x"}', '--trust', pub]],
      ['verify', (f: string, pub: string) => ['verify', f, '--trust', pub]],
      ['inspect', (f: string) => ['inspect', f]],
      ['conformance', (f: string, pub: string) => ['conformance', f, '--trust', pub]],
      [
        'agent spawn',
        (f: string, pub: string) => ['agent', 'spawn', f, '--name', 'x', '--trust-agent', pub, '--store', 'memory:', '--dist', join(tempDir(), 'none')],
      ],
      ['store import', (f: string, pub: string) => ['store', 'import', 'memory:', '--in', f, '--trust', pub]],
    ])('%s: a missing input file exits 2, naming it once', async (_name, argv) => {
      const { pub } = await signedFile('hello');
      const file = join(tempDir(), 'missing.wasm');
      const r = await run(...argv(file, pub));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(file);
      expect(r.err).not.toMatch(/ENOENT: ENOENT/);
      expect(r.err).not.toMatch(STACK);
    });
  });

  it("what the README's walk-throughs write in the repository root is ignored by git (a private key among it)", () => {
    const root = resolve(import.meta.dirname, '..', '..');
    const written = ['me.jwk', 'me.pub.jwk', 'agr.json', 'report.html', 'tally.mcp0a', 'my-agent/x', 'my-plugin/x', 'my-dist/x', 'my-spec/x'];
    // check-ignore prints each ignored path; a path it does not print would be committed by `git add -A`.
    const ignored = execFileSync('git', ['check-ignore', ...written], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(ignored).toEqual(written);
    expect(() => execFileSync('git', ['check-ignore', 'package.json'], { cwd: root, stdio: 'pipe' })).toThrow();
  });
});
