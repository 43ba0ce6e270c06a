// What the caches across calls save, counted at the block provider (counts are deterministic; time
// is never asserted): warm puts read no block and no ref, warm gets read the ref and nothing else,
// and a fresh instance reads what it needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockProvider, Kernel } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { NAME, boot, bytes } from './harness.js';

describe('caches across calls', () => {
  const store = new MemoryStore();
  const n = { get: 0, refGet: 0, put: 0, refCas: 0 };
  const blocks: BlockProvider = {
    put: (l) => {
      n.put++;
      return store.blocks.put(l);
    },
    get: (id) => {
      n.get++;
      return store.blocks.get(id);
    },
    has: (ids) => store.blocks.has(ids),
    refGet: (ns, name) => {
      n.refGet++;
      return store.blocks.refGet(ns, name);
    },
    refCas: (ns, name, want, root) => {
      n.refCas++;
      return store.blocks.refCas(ns, name, want, root);
    },
  };
  const reset = () => {
    n.get = 0;
    n.refGet = 0;
    n.put = 0;
    n.refCas = 0;
  };
  let kernel: Kernel;
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  const value = (i: number, gen: number) => new Uint8Array(300).fill((i + gen) & 0xff).map((x, j) => (j < 4 ? (i >> (8 * j)) & 0xff : x));
  const KEYS = 5000;

  beforeAll(async () => {
    kernel = await boot(blocks);
    for (let i = 0; i < KEYS; i += 500)
      await call('apply', { agent: 'c', delta: { puts: Array.from({ length: 500 }, (_, j) => [`/c/${i + j}`, value(i + j, 0)]) } });
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('a warm put reads no block and no ref: one blocks_put, one ref_cas', async () => {
    reset();
    for (let i = 0; i < 200; i++) await call('put', { agent: 'c', key: `/c/${(i * 7919) % KEYS}`, value: value(i, 1) });
    expect(n).toEqual({ get: 0, refGet: 0, put: 200, refCas: 200 });
  });

  it('a warm get reads the ref (another writer may have moved it) and no block; at a root, not even the ref', async () => {
    reset();
    for (let i = 0; i < 200; i++) expect((await call('get', { agent: 'c', key: `/c/${(i * 104729) % KEYS}` })).length).toBe(300);
    expect(n).toEqual({ get: 0, refGet: 200, put: 0, refCas: 0 });
    const { root } = await call('snapshot', { agent: 'c' });
    reset();
    for (let i = 0; i < 200; i++) expect((await call('get', { agent: 'c', key: `/c/${i}`, root })).length).toBe(300);
    expect(n).toEqual({ get: 0, refGet: 0, put: 0, refCas: 0 });
  });

  it('a fresh instance reads the blocks it needs, and gets the same answers', async () => {
    const fresh = await boot(blocks);
    try {
      reset();
      expect(await fresh.callValue(NAME, 'get', { agent: 'c', key: '/c/77' })).toEqual(await call('get', { agent: 'c', key: '/c/77' }));
      expect(n.get).toBeGreaterThan(1); // the commit, the nodes on the path, the value
      await fresh.callValue(NAME, 'put', { agent: 'c', key: '/c/78', value: bytes('fresh') });
      expect(await call('get', { agent: 'c', key: '/c/78' })).toEqual(bytes('fresh'));
    } finally {
      await fresh.stop();
    }
  });
});
