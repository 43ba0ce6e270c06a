/**
 * `mcp0 store export|import`: an agent's storage state (written by the real storage plugin into
 * LMDB) round-trips through an archive file into a fresh LMDB; damaged archives, conflicts and
 * usage errors give exit codes 1 and 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LmdbStore, headRef, STORAGE_MODULE } from '@mcp0/sdk';
import { bootStorage, listAll, storage, writeState } from '../../sdk/src/archive/archive.test-support.js';
import { run, tempDir } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const AGENT = 'cli-agent';
const srcDir = tempDir('mcp0-store-src-');
let state: Awaited<ReturnType<typeof writeState>>;

beforeAll(async () => {
  const src = LmdbStore.open(srcDir);
  const kernel = await bootStorage(src.blocks);
  state = await writeState(kernel, AGENT);
  await kernel.stop();
  await src.close();
});


describe('mcp0 store', () => {
  it('--help lists both subcommands and the exit codes', async () => {
    const r = await run('store', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/export <store-uri> --agent <id> --out <file>/);
    expect(r.out).toMatch(/import <store-uri> --in <file>/);
    expect(r.out).toMatch(/Exit codes/);
    expect((await run('--help')).out).toMatch(/\n {2}store /);
  });

  it('round-trips through a file into a fresh LMDB store: same head, root and values', async () => {
    const dir = tempDir('mcp0-store-');
    const file = join(dir, 'agent.mcp0a');
    const ex = await run('store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', file, '--history', '--json');
    expect(ex.code, ex.err).toBe(0);
    const e = JSON.parse(ex.out);
    expect(e).toMatchObject({ agent: AGENT, root: hex(state.second.root), bytes: readFileSync(file).length });
    expect(e.blocks).toBeGreaterThan(100);

    const destDir = join(dir, 'dest');
    const im = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--json');
    expect(im.code, im.err).toBe(0);
    expect(JSON.parse(im.out)).toEqual({ ...e, version: 1 });

    const dest = LmdbStore.open(destDir);
    expect(hex((await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(e.head);
    const k = await bootStorage(dest.blocks);
    expect(hex((await storage(k, 'snapshot', { agent: AGENT })).root)).toBe(e.root);
    expect((await listAll(k, AGENT)).map(([key, v]) => [key, hex(v)])).toEqual(state.entries.map(([key, v]) => [key, hex(v)]));
    expect((await storage(k, 'history', { agent: AGENT })).roots.length).toBe(3);
    await k.stop();
    await dest.close();

    // Human output, and the same import again is a no-op.
    const again = await run('store', 'import', `lmdb:${destDir}`, '--in', file);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/imported cli-agent: \d+ blocks, \d+ bytes, root [0-9a-f]{64}, head\/cli-agent at version 1/);
  });

  it('refuses another head without --force (exit 1), replaces it with --force', async () => {
    const dir = tempDir('mcp0-store-');
    const file = join(dir, 'agent.mcp0a');
    expect((await run('store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', file)).code).toBe(0);
    const destDir = join(dir, 'dest');
    const dest = LmdbStore.open(destDir);
    const k = await bootStorage(dest.blocks);
    await storage(k, 'put', { agent: AGENT, key: '/x', value: new Uint8Array([1]) });
    await k.stop();
    await dest.close();
    const r = await run('store', 'import', `lmdb:${destDir}`, '--in', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ECONFLICT: .*force/);
    const f = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--force', '--json');
    expect(f.code, f.err).toBe(0);
    expect(JSON.parse(f.out)).toMatchObject({ root: hex(state.second.root), version: 2 });
  });

  it('refuses damaged archive files with EINPUT (exit 1) and writes nothing', async () => {
    const dir = tempDir('mcp0-store-');
    const file = join(dir, 'agent.mcp0a');
    expect((await run('store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', file)).code).toBe(0);
    const bytes = new Uint8Array(readFileSync(file));
    const truncated = join(dir, 'truncated.mcp0a');
    writeFileSync(truncated, bytes.slice(0, bytes.length - 7));
    const flipped = join(dir, 'flipped.mcp0a');
    const b = new Uint8Array(bytes);
    b[b.length - 50]! ^= 0x01;
    writeFileSync(flipped, b);
    const destDir = join(dir, 'dest');
    for (const bad of [truncated, flipped]) {
      const r = await run('store', 'import', `lmdb:${destDir}`, '--in', bad);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/^mcp0 store: EINPUT: archive: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const dest = LmdbStore.open(destDir);
    expect(await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT))).toBeUndefined();
    await dest.close();
  });

  it('exit 1 for an agent without state or a missing file; exit 2 for usage errors', async () => {
    const dir = tempDir('mcp0-store-');
    const nobody = await run('store', 'export', `lmdb:${srcDir}`, '--agent', 'nobody', '--out', join(dir, 'x'));
    expect(nobody.code).toBe(1);
    expect(nobody.err).toMatch(/ENOTFOUND/);
    expect((await run('store', 'import', 'memory:', '--in', join(dir, 'missing.mcp0a'))).code).toBe(1);
    for (const argv of [
      ['store'],
      ['store', 'export', `lmdb:${srcDir}`, '--out', join(dir, 'x')],
      ['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT],
      ['store', 'import', 'memory:'],
      ['store', 'copy', 'memory:'],
      ['store', 'import', 'memory:', '--in', 'f', '--history'],
      ['store', 'export', 'redis://x', '--agent', AGENT, '--out', join(dir, 'x')],
      ['store', 'import', 'memory:', '--in', 'f', '--bogus'],
    ]) {
      const r = await run(...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(/EUSAGE/);
    }
  });
});
