/**
 * A plugin author outside this repository (issue 14): the packages `npm pack` makes install into
 * a folder of their own, and there the installed `mcp0` scaffolds a plugin and an agent from the
 * templates it carries, builds, makes a key, signs, verifies, calls and runs the conformance suite,
 * with no repository around it. Packs the built packages (`npm test` builds them first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess, tempDir, type ProcessResult } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Every package an installed @mcp0/tools needs, in the order the layers run. */
const PACKAGES = ['abi', 'builder', 'preempt', 'sandbox', 'kernel', 'sdk', 'conformance', 'tools'];

let app: string;
let keyring: string;

/** The installed binary, `node_modules/.bin/mcp0`, run in the author's folder with a keyring of its own. */
const mcp0 = (...args: string[]): Promise<ProcessResult> =>
  runProcess(join(app, 'node_modules', '.bin', 'mcp0'), args, { cwd: app, env: { MCP0_KEYRING: keyring }, timeout: 240_000 });

beforeAll(() => {
  const packs = tempDir('mcp0-packs-');
  keyring = tempDir('mcp0-outside-keyring-');
  execFileSync('npm', ['pack', ...PACKAGES.flatMap((p) => ['--workspace', p]), '--pack-destination', packs, '--silent'], { cwd: ROOT, stdio: 'pipe' });
  app = tempDir('mcp0-outside-');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'outside', private: true, type: 'module' }));
  const tarballs = readdirTarballs(packs);
  expect(tarballs).toHaveLength(PACKAGES.length);
  // The third-party packages come from npm's cache when it has them (a CI machine filled it with `npm ci`).
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: app, stdio: 'pipe', timeout: 600_000 });
}, 660_000);

/** The tarball of each package, as `npm pack` names it (mcp0-<package>-<version>.tgz). */
function readdirTarballs(dir: string): string[] {
  const files = readdirSync(dir);
  return PACKAGES.flatMap((p) => files.filter((f) => new RegExp(`^mcp0-${p}-\\d+\\.\\d+\\.\\d+\\.tgz$`).test(f)).map((f) => join(dir, f)));
}

describe('a plugin author outside the repository, with the packed packages', () => {
  it('installs mcp0 as a bin whose templates travel with it, and no repository is in reach', async () => {
    expect(existsSync(join(app, 'node_modules', '@mcp0', 'tools', 'templates', 'plugin', 'plugin.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@mcp0', 'abi', 'as', 'index.ts'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@mcp0', 'tools', 'src'))).toBe(false);
    const v = await mcp0('--version');
    expect(v.stdout).toMatch(/^mcp0 \d+\.\d+\.\d+ \(plugin ABI v1\.\d+\.\d+/);
  });

  it('new, build, keygen, sign, verify, call and conformance, as the README says', async () => {
    const created = await mcp0('new', 'greeter', '--name', 'acme.greeter');
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(app, 'greeter', 'package.json'), 'utf8')).dependencies).toEqual({ '@mcp0/abi': expect.stringMatching(/^\^1\./) });
    const built = await mcp0('build', 'greeter');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/built acme\.greeter@0\.1\.0: greeter\/build\/greeter\.wasm/);
    expect((await mcp0('build', 'greeter')).stdout).toMatch(/^up to date acme\.greeter/);
    expect((await mcp0('keygen', '--out', 'me.jwk')).code).toBe(0);
    const signed = await mcp0('sign', 'greeter/build/greeter.wasm', '--key', 'me.jwk');
    expect(signed.code, signed.stderr).toBe(0);
    const verified = await mcp0('verify', 'greeter/build/greeter.wasm', '--trust', './me.pub.jwk');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ok: acme\.greeter@0\.1\.0 is signed by trusted/);
    const called = await mcp0(
      'call',
      'greeter/build/greeter.wasm',
      '--trust',
      './me.pub.jwk',
      '--grant',
      'kv',
      '--grant',
      'clock',
      '--grant',
      'random',
      'greet={"name":"Ada"}',
    );
    expect(called.code, called.stderr).toBe(0);
    expect(JSON.parse(called.stdout)).toEqual({ export: 'greet', ok: true, output: 'hello, Ada' });
    const conformance = await mcp0('conformance', 'greeter/build/greeter.wasm', '--trust', './me.pub.jwk', '--quick', '--out', 'report.json');
    expect(conformance.code, conformance.stdout + conformance.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(app, 'report.json'), 'utf8')).verdict).toBe('pass');
  }, 300_000);

  it('scaffolds and builds an agent too', async () => {
    expect((await mcp0('new', 'tally', '--name', 'acme.tally', '--kind', 'agent')).code).toBe(0);
    const built = await mcp0('build', 'tally');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/built acme\.tally@0\.1\.0/);
  }, 120_000);
});
