/** `mcp0 new`: a scaffold that builds, signs and runs as it is; bad names and non-empty dirs refused. */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '@mcp0/abi';
import { lines, run, tempDir, writeKeys } from './helpers.js';

const GRANTS = ['--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random'];

describe('mcp0 new', () => {
  it('scaffolds a plugin that builds, signs and answers calls', async () => {
    const dir = join(tempDir(), 'search');
    const made = await run('new', dir, '--name', 'acme.search', '--description', 'finds things');
    expect(made.code).toBe(0);
    expect(made.err).toBe('');
    expect(existsSync(join(dir, 'assembly', 'index.ts'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'acme.search', version: '0.1.0', description: 'finds things' });

    const built = await run('build', dir);
    expect(built.code, built.err).toBe(0);
    const wasm = join(dir, 'build', 'search.wasm');
    expect(readManifest(new Uint8Array(readFileSync(wasm))).name).toBe('acme.search');

    const keys = writeKeys(tempDir());
    expect((await run('sign', wasm, '--key', keys.priv)).code).toBe(0);
    const called = await run('call', wasm, '--trust', keys.pub, ...GRANTS, 'greet={"name":"new"}');
    expect(called.code, called.err).toBe(0);
    expect(lines(called.out)).toEqual([{ export: 'greet', ok: true, output: 'hello, new' }]);
  });

  it('scaffolds an agent (--kind agent) that builds, signs and runs', async () => {
    const dir = join(tempDir(), 'tally');
    const made = await run('new', dir, '--name', 'acme.tally', '--kind', 'agent');
    expect(made.code, made.err).toBe(0);
    expect(made.out).toContain('from mcp0.example.counter');
    const manifest = JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'acme.tally', kind: 'agent', description: 'acme.tally: an agent for MCP-ZERO' });
    expect((await run('build', dir)).code).toBe(0);
    const wasm = join(dir, 'build', 'tally.wasm');
    const keys = writeKeys(tempDir());
    expect((await run('sign', wasm, '--key', keys.priv)).code).toBe(0);
    const called = await run('call', wasm, '--trust', keys.pub, '--grant', 'kv', 'increment={"by":2}', 'increment={}', 'get={}');
    expect(called.code, called.err).toBe(0);
    expect(lines(called.out).map((l) => (l as { output: unknown }).output)).toEqual([{ value: 2 }, { value: 3 }, { value: 3 }]);
    expect((await run('new', join(tempDir(), 'x'), '--name', 'acme.x', '--kind', 'service')).code).toBe(2);
  });

  it('accepts an existing empty directory', async () => {
    const dir = tempDir();
    expect((await run('new', dir, '--name', 'acme.empty')).code).toBe(0);
    expect(existsSync(join(dir, 'plugin.json'))).toBe(true);
  });

  it.each(['Acme.Search', 'nodot', '../evil', 'acme..x', 'acme.x/../../y', '.acme', 'acme.x ', `acme.${'a'.repeat(80)}`, ''])(
    'refuses the bad name %j and writes nothing',
    async (name) => {
      const dir = join(tempDir(), 'p');
      const r = await run('new', dir, '--name', name);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/name/);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(existsSync(dir)).toBe(false);
    },
  );

  it('refuses a non-empty directory and leaves it untouched', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    mkdirSync(join(dir, 'assembly'));
    const r = await run('new', dir, '--name', 'acme.x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not empty/);
    expect(readdirSync(dir).sort()).toEqual(['assembly', 'keep.txt']);
    expect(readdirSync(join(dir, 'assembly'))).toEqual([]);
  });

  it('needs a directory and --name', async () => {
    expect((await run('new', '--name', 'acme.x')).code).toBe(2);
    const r = await run('new', join(tempDir(), 'p'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--name/);
  });
});
