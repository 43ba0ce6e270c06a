// Hostile key sets and the exports other components build on: keys chosen against the version 1
// boundary rule (which kept a tree in one ever-growing leaf), keys chosen against the agent's own
// salt (only the size caps cut), 1,000-byte keys, apply with `expect`, and reads at an old root.
// Byte counts are deterministic, so they are asserted; time never is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mcp0Error } from '@mcp0/abi';
import type { BlockProvider, Kernel } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { MAX_ITEMS, MAX_WEIGHT, buildTree, decodeCommit, decodeNode, hexOf, rank, rankV1, weight } from './format.js';
import { NAME, boot, bytes, counting } from './harness.js';

const text = new TextDecoder();

/** Every node of the tree at `root`: level, item count, bytes and weight. */
function nodes(get: (id: Uint8Array) => Uint8Array, root: Uint8Array): { level: number; items: number; bytes: number; weight: number }[] {
  const out: { level: number; items: number; bytes: number; weight: number }[] = [];
  const walk = (id: Uint8Array) => {
    const b = get(id);
    const n = decodeNode(b);
    out.push({ level: n.level, items: n.items.length, bytes: b.length, weight: n.version === 2 ? n.items.reduce((s, it) => s + weight(it), 0) : 0 });
    if (n.level > 0) for (const it of n.items) walk(it.child!);
  };
  walk(root);
  return out;
}

describe('hostile key sets', () => {
  let kernel: Kernel;
  const store = new MemoryStore();
  const c = counting(store.blocks);
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  const get = (id: Uint8Array) => store.blocks.get(id)!;
  const saltOf = (agent: string) => decodeCommit(get(store.blocks.refGet(NAME, `head/${agent}`)!.root)).salt!;
  /** Bytes of new blocks one put writes. */
  const putBytes = async (agent: string, key: string, value: Uint8Array) => {
    c.reset();
    await call('put', { agent, key, value });
    return c.newBytes();
  };

  beforeAll(async () => {
    kernel = await boot(c.blocks);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('keys that never end a node under the version 1 rule: the tree splits, 20,000 of them are written, puts stay small', async () => {
    const agent = 'no-split';
    // Under version 1 a node ended only after a key whose SHA-256 has ≥ 5 leading zero bits: these
    // never do, so that rule kept them all in one leaf, rewritten whole by every put (674 KB a put
    // at 10,000 keys, ETOOBIG near 14,500 once the leaf passed the 1 MiB block limit).
    const keys: string[] = [];
    for (let i = 0; keys.length < 20_000; i++) {
      const k = `/n/${i}`;
      if (rankV1(bytes(k)) === 0) keys.push(k);
    }
    const value = (i: number) => bytes(`v${i}`.padEnd(12, '.'));
    for (let i = 0; i < 10_000; i += 1000) await call('apply', { agent, delta: { puts: keys.slice(i, i + 1000).map((k, j) => [k, value(i + j)]) } });
    const at10k = await putBytes(agent, keys[4321]!, new Uint8Array(1024).fill(7));
    console.log(`[storage] hostile (v1 rule) keys: one 1 KiB put at 10,000 keys writes ${at10k} B (version 1: about 674,000 B)`);
    expect(at10k).toBeLessThan(16_000);
    for (let i = 10_000; i < 20_000; i += 1000) await call('apply', { agent, delta: { puts: keys.slice(i, i + 1000).map((k, j) => [k, value(i + j)]) } });
    const { root } = await call('snapshot', { agent });
    const all = nodes(get, root);
    const leaves = all.filter((n) => n.level === 0);
    expect(all[0]!.level).toBeGreaterThanOrEqual(2);
    expect(leaves.length).toBeGreaterThan(20_000 / MAX_ITEMS);
    expect(leaves.reduce((s, n) => s + n.items, 0)).toBe(20_000);
    expect(Math.max(...all.map((n) => n.bytes))).toBeLessThan(MAX_WEIGHT + 2_000);
    const at20k = await putBytes(agent, keys[17_000]!, new Uint8Array(1024).fill(8));
    expect(at20k).toBeLessThan(16_000);
    // The tree is the canonical one for its salt (checked by the independent model).
    const model = buildTree(
      saltOf(agent),
      keys.map((k, i) => [bytes(k), i === 4321 ? new Uint8Array(1024).fill(7) : i === 17_000 ? new Uint8Array(1024).fill(8) : value(i)]),
    );
    expect(hexOf((await call('snapshot', { agent })).root)).toBe(hexOf(model.root));
  });

  it('keys chosen with the salt known (it is not, to an agent): the size caps still bound every node and every put', async () => {
    const agent = 'salt-known';
    await call('put', { agent, key: '/first', value: bytes('x') }); // the agent's salt is drawn now
    const salt = saltOf(agent);
    const keys: string[] = [];
    for (let i = 0; keys.length < 3_000; i++) {
      const k = `/s/${i}`;
      if (rank(salt, bytes(k)) === 0) keys.push(k); // never ends a node at any level
    }
    const value = new Uint8Array(40).fill(1);
    for (let i = 0; i < keys.length; i += 1000) await call('apply', { agent, delta: { puts: keys.slice(i, i + 1000).map((k) => [k, value]) } });
    const { root } = await call('snapshot', { agent });
    const all = nodes(get, root);
    // Only the caps cut: every node but the last of its level is full (MAX_ITEMS items or MAX_WEIGHT of weight).
    const full = all.filter((n) => n.items >= MAX_ITEMS || n.weight >= MAX_WEIGHT);
    expect(full.length).toBeGreaterThan(all.length / 2);
    expect(Math.max(...all.map((n) => n.items))).toBeLessThanOrEqual(MAX_ITEMS);
    expect(Math.max(...all.map((n) => n.bytes))).toBeLessThan(MAX_WEIGHT + 2_000);
    const one = await putBytes(agent, keys[1234]!, new Uint8Array(1024).fill(3));
    expect(one).toBeLessThan(3 * (MAX_WEIGHT + 2_000));
    const model = buildTree(
      salt,
      [['/first', bytes('x')] as [string, Uint8Array], ...keys.map((k, i): [string, Uint8Array] => [k, i === 1234 ? new Uint8Array(1024).fill(3) : value])].map(
        ([k, v]) => [bytes(k), v],
      ),
    );
    expect(hexOf((await call('snapshot', { agent })).root)).toBe(hexOf(model.root));
  });

  it('1,000-byte keys: front coding keeps a 1 KiB put small (version 1: about 106 KB at 10,000 keys)', async () => {
    const shared = `/long/${'x'.repeat(980)}/`;
    const key = (i: number) => `${shared}${String(i).padStart(13, '0')}`;
    expect(bytes(key(1)).length).toBe(1000);
    const agent = 'long-keys';
    for (let i = 0; i < 10_000; i += 500) {
      await call('apply', { agent, delta: { puts: Array.from({ length: 500 }, (_, j) => [key(i + j), bytes(`v${i + j}`)]) } });
    }
    const one = await putBytes(agent, key(5000), new Uint8Array(1024).fill(9));
    console.log(`[storage] 1,000-byte keys sharing a prefix: one 1 KiB put at 10,000 keys writes ${one} B`);
    expect(one).toBeLessThan(12_000);
    // Keys with nothing in common but their first byte: only the byte cap helps (nodes of ~8 keys).
    const agent2 = 'long-random';
    const rkey = (i: number) => `/${hexOf(new TextEncoder().encode(String(i * 7919))).padEnd(40, 'f')}${'r'.repeat(959)}`.slice(0, 1000);
    for (let i = 0; i < 3_000; i += 500) {
      await call('apply', { agent: agent2, delta: { puts: Array.from({ length: 500 }, (_, j) => [rkey(i + j), bytes(`v${i + j}`)]) } });
    }
    const two = await putBytes(agent2, rkey(1500), new Uint8Array(1024).fill(9));
    console.log(`[storage] 1,000-byte keys with short shared prefixes: one 1 KiB put at 3,000 keys writes ${two} B`);
    const depth = nodes(get, (await call('snapshot', { agent: agent2 })).root)[0]!.level + 1;
    expect(two).toBeLessThan(1_200 + depth * (MAX_WEIGHT + 2_200));
  });
});

describe('apply with expect, and reads at a root', () => {
  let kernel: Kernel;
  const store = new MemoryStore();
  const c = counting(store.blocks);
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: Mcp0Error) => e,
    );

  beforeAll(async () => {
    kernel = await boot(c.blocks);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('commits only at the expected head version; a stale one is ECONFLICT with both versions, nothing written', async () => {
    const agent = 'cas';
    expect(await call('snapshot', { agent })).toMatchObject({ version: 0 });
    const first = await call('apply', { agent, delta: { puts: [['/a', bytes('1')]] }, expect: 0 });
    const v1 = await call('snapshot', { agent });
    expect(v1).toEqual({ root: first.root, version: 1 });
    await call('apply', { agent, delta: { puts: [['/b', bytes('2')]] }, expect: 1 });
    const stored = (await store.listBlocks(undefined, 100_000)).length;
    c.reset();
    const e = await fail(call('apply', { agent, delta: { puts: [['/c', new Uint8Array(500).fill(3)]] }, expect: 1 }));
    expect(e).toMatchObject({ code: 'ECONFLICT', message: expect.stringMatching(/version 2, not the expected version 1/) });
    expect(c.newBytes()).toBe(0);
    expect((await store.listBlocks(undefined, 100_000)).length).toBe(stored);
    expect(await call('snapshot', { agent })).toMatchObject({ version: 2 });
    expect(await call('get', { agent, key: '/c' })).toBeNull();
    // Without expect, the current behaviour: it applies at whatever the head is.
    await call('apply', { agent, delta: { puts: [['/c', bytes('3')]] } });
    expect(await call('get', { agent, key: '/c' })).toEqual(bytes('3'));
    // expect must be a uint.
    for (const bad of [-1, 'x', 1.5, new Uint8Array(1)]) {
      await expect(call('apply', { agent, delta: { puts: [['/d', bytes('4')]] }, expect: bad })).rejects.toMatchObject({ code: 'EINPUT' });
    }
  });

  it('with expect, a head that moves between the read and the ref_cas is ECONFLICT, not retried', async () => {
    const agent = 'cas-race';
    await call('put', { agent, key: '/base', value: bytes('base') });
    let cas = 0;
    // Another writer moves the head (to the same commit) right before our ref_cas.
    const rival: BlockProvider = {
      put: (l) => store.blocks.put(l),
      get: (id) => store.blocks.get(id),
      has: (ids) => store.blocks.has(ids),
      refGet: (ns, n) => store.blocks.refGet(ns, n),
      refCas: (ns, n, want, root) => {
        cas++;
        const cur = store.blocks.refGet(ns, n)!;
        store.blocks.refCas(ns, n, cur.version, cur.root);
        return store.blocks.refCas(ns, n, want, root);
      },
    };
    const k2 = await boot(rival);
    try {
      const e = await fail(k2.callValue(NAME, 'apply', { agent, delta: { puts: [['/mine', bytes('x')]] }, expect: 1 }));
      expect(e).toMatchObject({ code: 'ECONFLICT', message: expect.stringMatching(/version 2, not the expected version 1/) });
      expect(cas).toBe(1);
      expect(await call('get', { agent, key: '/mine' })).toBeNull();
    } finally {
      await k2.stop();
    }
  });

  it('a write starts from the head this instance knows, and still sees what another instance wrote meanwhile', async () => {
    const agent = 'two-writers';
    const other = await boot(store.blocks);
    try {
      const call2 = (exp: string, input: unknown) => other.callValue(NAME, exp, input as never) as Promise<any>;
      await call('put', { agent, key: '/k', value: bytes('mine') });
      await call2('put', { agent, key: '/k', value: bytes('theirs') });
      await call2('put', { agent, key: '/gone', value: bytes('x') });
      // This instance's last known head has /k = mine and no /gone: neither write may be taken for a no-op.
      await call('put', { agent, key: '/k', value: bytes('mine') });
      expect(await call2('get', { agent, key: '/k' })).toEqual(bytes('mine'));
      expect(await call('delete', { agent, key: '/gone' })).toMatchObject({ existed: true });
      expect(await call2('get', { agent, key: '/gone' })).toBeNull();
      // And a write on a moved head lands on top of the other's writes (nothing lost).
      await call2('put', { agent, key: '/theirs', value: bytes('t') });
      await call('put', { agent, key: '/mine', value: bytes('m') });
      expect((await call2('list', { agent })).entries.map(([k]: [string]) => k)).toEqual(['/k', '/mine', '/theirs']);
      expect((await call('history', { agent, limit: 100 })).roots.length).toBe(7);
    } finally {
      await other.stop();
    }
  });

  it('get and list at an old root read that version; snapshot stays cheap', async () => {
    const agent = 'at-root';
    const big = new Uint8Array(300).fill(5);
    await call('apply', { agent, delta: { puts: [['/x', bytes('1')], ['/big', big], ...Array.from({ length: 300 }, (_, i) => [`/m/${i}`, bytes(`a${i}`)])] } });
    const old = await call('snapshot', { agent });
    await call('apply', {
      agent,
      delta: {
        puts: [
          ['/x', bytes('2')],
          ['/y', bytes('3')],
        ],
        deletes: ['/big', '/m/7'],
      },
    });
    expect(await call('get', { agent, key: '/x' })).toEqual(bytes('2'));
    expect(await call('get', { agent, key: '/x', root: old.root })).toEqual(bytes('1'));
    expect(await call('get', { agent, key: '/y', root: old.root })).toBeNull();
    expect(await call('get', { agent, key: '/big', root: old.root })).toEqual(big);
    const page = await call('list', { agent, prefix: '/m/', limit: 1000, root: old.root });
    expect(page.entries.length).toBe(300);
    expect(page.entries.map(([k]: [string]) => k)).toContain('/m/7');
    expect((await call('list', { agent, prefix: '/m/', limit: 1000 })).entries.length).toBe(299);
    // Pages at a root continue at that root.
    const p1 = await call('list', { agent, prefix: '/m/', limit: 100, root: old.root });
    const p2 = await call('list', { agent, prefix: '/m/', limit: 1000, root: old.root, cursor: p1.cursor });
    expect(p1.entries.length + p2.entries.length).toBe(300);
    // The empty root, a root that does not exist, a block that is not a node, a bad root.
    const empty = (await call('snapshot', { agent: 'nobody' })).root;
    expect(await call('get', { agent, key: '/x', root: empty })).toBeNull();
    expect((await call('list', { agent, root: empty })).entries).toEqual([]);
    await expect(call('get', { agent, key: '/x', root: new Uint8Array(32).fill(1) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(call('list', { agent, root: new Uint8Array(32).fill(1) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const [junk] = store.blocks.put([bytes('not a node')]);
    await expect(call('get', { agent, key: '/x', root: junk })).rejects.toMatchObject({ code: 'EINPUT' });
    for (const bad of [new Uint8Array(31), 'x', 7]) {
      await expect(call('get', { agent, key: '/x', root: bad })).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(call('list', { agent, root: bad })).rejects.toMatchObject({ code: 'EINPUT' });
    }
    // null is "no root": the head.
    expect(await call('get', { agent, key: '/x', root: null })).toEqual(bytes('2'));
    expect(text.decode(await call('get', { agent, key: '/y' }))).toBe('3');
  });
});
