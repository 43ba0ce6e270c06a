// Known answers for the block format (README "Block and node format", "Boundaries"): SipHash-2-4,
// a version 2 leaf's exact bytes, and the root of a fixed data set under a fixed salt, written by
// the plugin in different orders and built by the independent model in test/format.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@mcp0/sdk';
import type { Kernel } from '@mcp0/kernel';
import { EMPTY_TREE, buildTree, decodeCommit, decodeNode, encodeNodeV2, hexOf, rank, sha, siphash24 } from './format.js';
import { NAME, boot } from './harness.js';

const enc = new TextEncoder();
/** The salt every agent of these tests gets: a fixed "random" provider. */
const SALT = Uint8Array.from({ length: 16 }, (_, i) => i);
const fixedRandom = { bytes: (n: number) => Uint8Array.from({ length: n }, (_, i) => i) };

/** 1,000 entries: every fifth value out of line (100 bytes), the rest inline. */
const DATA: [string, Uint8Array][] = Array.from({ length: 1000 }, (_, i) => [
  `/kat/${i}`,
  i % 5 === 0 ? new Uint8Array(100).fill(i & 255) : enc.encode(`v${i}`),
]);
/** The root of DATA under SALT (format version 2, target fanout 16, caps 128 items / 8,192 bytes). */
const KAT_ROOT = '088f7354343b08f7b8c3c604f32c5e736d37544761ae39daa095b01246fcf857';

describe('known answers', () => {
  it('SipHash-2-4: the reference vectors (key 00..0f)', () => {
    expect(
      siphash24(
        SALT,
        Uint8Array.from({ length: 15 }, (_, i) => i),
      ).toString(16),
    ).toBe('a129ca6149be45e5');
    expect(siphash24(SALT, new Uint8Array(0)).toString(16)).toBe('726fdb47dd0e0e31');
  });

  it('a version 2 leaf: front-coded keys, inline and out-of-line values', () => {
    const big = new Uint8Array(70).fill(0x61);
    const leaf = encodeNodeV2(0, [
      { key: enc.encode('/a'), value: enc.encode('v') },
      { key: enc.encode('/ab/c'), valueId: sha(big), size: 70 },
      { key: enc.encode('/b'), value: new Uint8Array(0) },
    ]);
    // [2, 0, [[0, "/a", "v"], [2, "b/c", sha256(70 × "a"), 70], [1, "b", ""]]]
    expect(hexOf(leaf)).toBe('830200838300422f614176840243622f6358206bd5e5034855a11241f0dee8fc72850ffd9955b28347a86428b5fa19119f6ad018468301416240');
    const back = decodeNode(leaf);
    expect(back.items.map((it) => new TextDecoder().decode(it.key))).toEqual(['/a', '/ab/c', '/b']);
    expect(hexOf(EMPTY_TREE)).toBe('820080');
  });

  it('the model of the canonical tree gives the known root', () => {
    expect(
      hexOf(
        buildTree(
          SALT,
          DATA.map(([k, v]) => [enc.encode(k), v]),
        ).root,
      ),
    ).toBe(KAT_ROOT);
  });
});

describe('the plugin writes exactly the canonical tree', () => {
  let kernel: Kernel;
  const store = new MemoryStore();
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  beforeAll(async () => {
    kernel = await boot(store.blocks, 'inline', fixedRandom);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('salts a new agent from random_bytes, and keeps the salt in every commit', async () => {
    await call('put', { agent: 'salted', key: '/x', value: enc.encode('1') });
    await call('put', { agent: 'salted', key: '/y', value: enc.encode('2') });
    for (let id = store.blocks.refGet(NAME, 'head/salted')!.root as Uint8Array | null; id; ) {
      const c = decodeCommit(store.blocks.get(id)!);
      expect(hexOf(c.salt!)).toBe(hexOf(SALT));
      id = c.parent;
    }
  });

  it('the same leaf bytes as the known answer', async () => {
    const big = new Uint8Array(70).fill(0x61);
    const { root } = await call('apply', {
      agent: 'leaf',
      delta: {
        puts: [
          ['/a', enc.encode('v')],
          ['/ab/c', big],
          ['/b', new Uint8Array(0)],
        ],
      },
    });
    expect(hexOf(store.blocks.get(root)!)).toBe(
      '830200838300422f614176840243622f6358206bd5e5034855a11241f0dee8fc72850ffd9955b28347a86428b5fa19119f6ad018468301416240',
    );
    // Under this salt none of the three keys ends a node.
    for (const k of ['/a', '/ab/c']) expect(rank(SALT, enc.encode(k))).toBe(0);
  });

  it('the known root, whatever the order of the writes, with every block as the model has it', async () => {
    const one = await call('apply', { agent: 'kat-1', delta: { puts: DATA } });
    expect(hexOf(one.root)).toBe(KAT_ROOT);
    // Another agent (the same fixed salt here), in another order: reversed single puts, a detour.
    for (const [k, v] of [...DATA].reverse().slice(0, 300)) await call('put', { agent: 'kat-2', key: k, value: v });
    await call('apply', { agent: 'kat-2', delta: { puts: [...DATA.slice(0, 700), ['/kat/extra', enc.encode('x')]] } });
    const two = await call('apply', { agent: 'kat-2', delta: { deletes: ['/kat/extra'] } });
    expect(hexOf(two.root)).toBe(KAT_ROOT);
    const model = buildTree(
      SALT,
      DATA.map(([k, v]) => [enc.encode(k), v]),
    );
    for (const [h, bytes] of model.blocks) expect(hexOf(store.blocks.get(Buffer.from(h, 'hex'))!), h).toBe(hexOf(bytes));
  });
});
