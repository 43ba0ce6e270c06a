// State on LmdbStore survives closing and reopening the store and reloading the plugin; the
// worker tier serves the same data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { NAME, boot, bytes } from './harness.js';

describe('restart on LmdbStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-storage-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps heads, values and history across a reopen, in both tiers', async () => {
    let store = LmdbStore.open(dir);
    let kernel = await boot(store.blocks);
    const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
    const puts = Array.from({ length: 300 }, (_, i) => [`/r/${i}`, i % 2 ? bytes(`v${i}`) : new Uint8Array(500).fill(i & 0xff)]);
    await call('apply', { agent: 'durable', delta: { puts } });
    await call('put', { agent: 'durable', key: '/r/extra', value: bytes('x') });
    const snap = await call('snapshot', { agent: 'durable' });
    const hist = await call('history', { agent: 'durable' });
    await kernel.stop();
    await store.close();

    store = LmdbStore.open(dir);
    kernel = await boot(store.blocks, 'worker');
    expect(await call('snapshot', { agent: 'durable' })).toEqual(snap);
    expect(await call('history', { agent: 'durable' })).toEqual(hist);
    expect(await call('get', { agent: 'durable', key: '/r/10' })).toEqual(new Uint8Array(500).fill(10));
    expect(await call('get', { agent: 'durable', key: '/r/extra' })).toEqual(bytes('x'));
    const page = await call('list', { agent: 'durable', prefix: '/r/', limit: 1000 });
    expect(page.entries.length).toBe(301);
    await call('restore', { agent: 'durable', root: hist.roots[1] });
    expect(await call('get', { agent: 'durable', key: '/r/extra' })).toBeNull();
    await kernel.stop();
    await store.close();
  });
});
