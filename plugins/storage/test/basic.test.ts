// mcp0.storage through the real kernel, over MemoryStore and LmdbStore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor } from '@mcp0/abi';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { MemoryStore, type Store } from '@mcp0/sdk';
import type { Kernel } from '@mcp0/kernel';
import { NAME, boot, bytes } from './harness.js';

type Root = { root: Uint8Array };
type Entries = { entries: [string, Uint8Array][]; cursor: string | null };

const stores: [string, () => { store: Store; cleanup: () => void }][] = [
  ['MemoryStore', () => ({ store: new MemoryStore(), cleanup: () => {} })],
  [
    'LmdbStore',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'mcp0-storage-'));
      return { store: LmdbStore.open(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(stores)('mcp0.storage over %s', (_name, open) => {
  let kernel: Kernel;
  let store: Store;
  let cleanup: () => void;
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;

  beforeAll(async () => {
    ({ store, cleanup } = open());
    kernel = await boot(store.blocks);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
    cleanup();
  });

  it('puts, gets, overwrites and deletes, inline and out-of-line values', async () => {
    const a = 'agent-basic';
    expect(await call('get', { agent: a, key: '/memory/notes/1' })).toBeNull();
    const small = bytes('hello');
    const big = new Uint8Array(5000).map((_, i) => i & 0xff);
    await call('put', { agent: a, key: '/memory/notes/1', value: small });
    await call('put', { agent: a, key: '/memory/notes/2', value: big });
    await call('put', { agent: a, key: '/memory/empty', value: new Uint8Array(0) });
    expect(await call('get', { agent: a, key: '/memory/notes/1' })).toEqual(small);
    expect(await call('get', { agent: a, key: '/memory/notes/2' })).toEqual(big);
    expect(await call('get', { agent: a, key: '/memory/empty' })).toEqual(new Uint8Array(0));
    await call('put', { agent: a, key: '/memory/notes/1', value: big });
    expect(await call('get', { agent: a, key: '/memory/notes/1' })).toEqual(big);
    expect(await call('delete', { agent: a, key: '/memory/notes/1' })).toMatchObject({ existed: true });
    expect(await call('delete', { agent: a, key: '/memory/notes/1' })).toMatchObject({ existed: false });
    expect(await call('get', { agent: a, key: '/memory/notes/1' })).toBeNull();
    expect(await call('get', { agent: a, key: '/memory/notes/2' })).toEqual(big);
  });

  it('keeps a large key space consistent through puts and deletes (many tree levels)', async () => {
    const a = 'agent-many';
    const model = new Map<string, Uint8Array>();
    const keys = Array.from({ length: 3000 }, (_, i) => `/k/${(i * 7919) % 3000}`);
    for (let i = 0; i < keys.length; i += 500) {
      const puts = keys.slice(i, i + 500).map((k) => [k, bytes(`v:${k}`)] as [string, Uint8Array]);
      for (const [k, v] of puts) model.set(k, v);
      await call('apply', { agent: a, delta: { puts, deletes: [] } });
    }
    // Single puts and deletes across the space.
    for (let i = 0; i < 200; i++) {
      const k = `/k/${(i * 31) % 3000}`;
      if (i % 2) {
        await call('delete', { agent: a, key: k });
        model.delete(k);
      } else {
        const v = bytes(`w:${i}`.repeat(i % 20));
        await call('put', { agent: a, key: k, value: v });
        model.set(k, v);
      }
    }
    const all: [string, Uint8Array][] = [];
    let cursor: string | null = null;
    do {
      const page: Entries = await call('list', { agent: a, prefix: '/k/', limit: 1000, cursor });
      all.push(...page.entries);
      cursor = page.cursor;
    } while (cursor !== null);
    const expected = [...model.entries()].sort(([x], [y]) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1));
    expect(all.map(([k]) => k)).toEqual(expected.map(([k]) => k));
    expect(all).toEqual(expected);
    // Same content built again in one apply gives the same root (history independence, for the
    // agent's salt): empty the agent, then write it all at once.
    const built = (await call('snapshot', { agent: a })).root;
    const emptied: Root = await call('apply', { agent: a, delta: { deletes: expected.map(([k]) => k) } });
    expect(emptied.root).toEqual((await call('snapshot', { agent: 'never-written' })).root);
    const fresh: Root = await call('apply', { agent: a, delta: { puts: expected, deletes: [] } });
    expect(fresh.root).toEqual(built);
  });

  it('lists by prefix with pagination', async () => {
    const a = 'agent-list';
    const puts = [] as [string, Uint8Array][];
    for (let i = 0; i < 25; i++) puts.push([`/memory/notes/${String(i).padStart(2, '0')}`, bytes(`n${i}`)]);
    puts.push(['/memory/other', bytes('o')], ['/memory/notes', bytes('parent')], ['/zzz', bytes('z')], ['/a', bytes('a')]);
    await call('apply', { agent: a, delta: { puts } });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Entries = await call('list', { agent: a, prefix: '/memory/notes/', limit: 10, cursor });
      expect(page.entries.length).toBeLessThanOrEqual(10);
      seen.push(...page.entries.map(([k]) => k));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(puts.slice(0, 25).map(([k]) => k));
    const exact: Entries = await call('list', { agent: a, prefix: '/memory/notes/', limit: 25 });
    expect(exact.entries.length).toBe(25);
    expect(exact.cursor).toBeNull();
    const memory: Entries = await call('list', { agent: a, prefix: '/memory/', limit: 1000 });
    expect(memory.entries.map(([k]) => k)).toEqual(['/memory/notes', ...puts.slice(0, 25).map(([k]) => k), '/memory/other']);
    const everything: Entries = await call('list', { agent: a });
    expect(everything.entries[0]).toEqual(['/a', bytes('a')]);
    expect(everything.entries.length).toBe(29);
    expect((await call('list', { agent: a, prefix: '/nothing' })).entries).toEqual([]);
    expect((await call('list', { agent: 'nobody', prefix: '' })).entries).toEqual([]);
  });

  it('snapshots, restores, and keeps a history chain', async () => {
    const a = 'agent-snap';
    const empty = await call('snapshot', { agent: a });
    expect(empty.version).toBe(0);
    await call('put', { agent: a, key: '/x', value: bytes('1') });
    const s1 = await call('snapshot', { agent: a });
    await call('put', { agent: a, key: '/x', value: bytes('2') });
    await call('put', { agent: a, key: '/y', value: bytes('3') });
    const s2 = await call('snapshot', { agent: a });
    expect(s2.version).toBe(s1.version + 2);
    expect(await call('restore', { agent: a, root: s1.root })).toEqual({ root: s1.root });
    expect(await call('get', { agent: a, key: '/x' })).toEqual(bytes('1'));
    expect(await call('get', { agent: a, key: '/y' })).toBeNull();
    const h = await call('history', { agent: a, limit: 10 });
    expect(h.roots.length).toBe(4);
    expect(h.roots[0]).toEqual(s1.root);
    expect(h.roots[1]).toEqual(s2.root);
    expect(h.roots[3]).toEqual(s1.root);
    expect((await call('history', { agent: a, limit: 2 })).roots.length).toBe(2);
    // Restore to the empty tree, and back.
    await call('restore', { agent: a, root: empty.root });
    expect(await call('get', { agent: a, key: '/x' })).toBeNull();
    await call('restore', { agent: a, root: s2.root });
    expect(await call('get', { agent: a, key: '/y' })).toEqual(bytes('3'));
    // A root that does not exist, or a block that is not a node.
    await expect(call('restore', { agent: a, root: new Uint8Array(32).fill(9) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const [junk] = await store.blocks.put([bytes('not cbor at all')]);
    await expect(call('restore', { agent: a, root: junk })).rejects.toMatchObject({ code: 'EINPUT' });
    expect((await call('snapshot', { agent: a })).root).toEqual(s2.root);
  });

  it('is history-independent: same content in any order gives the same root (per agent: its salt)', async () => {
    const keys = Array.from({ length: 400 }, (_, i) => `/h/${i}`);
    const val = (k: string) => (k.endsWith('7') ? new Uint8Array(200).fill(k.length) : bytes(k));
    const a = 'hi-1';
    const empty = (await call('snapshot', { agent: 'never-written' })).root;
    for (const k of keys) await call('put', { agent: a, key: k, value: val(k) });
    const r1 = (await call('snapshot', { agent: a })).root;
    // Deleting everything gives the empty root.
    expect((await call('apply', { agent: a, delta: { deletes: keys } })).root).toEqual(empty);
    const shuffled = [...keys].sort(
      (x, y) => ((x.length * 31 + x.charCodeAt(x.length - 1)) % 17) - ((y.length * 31 + y.charCodeAt(y.length - 1)) % 17) || y.localeCompare(x),
    );
    for (const k of shuffled) await call('put', { agent: a, key: k, value: val(k) });
    // Extra keys added then removed, and values overwritten back.
    for (let i = 0; i < 50; i++) await call('put', { agent: a, key: `/extra/${i}`, value: bytes('e') });
    for (let i = 0; i < 50; i++) await call('put', { agent: a, key: keys[i * 3]!, value: bytes('tmp') });
    for (let i = 0; i < 50; i++) await call('delete', { agent: a, key: `/extra/${i}` });
    for (let i = 0; i < 50; i++) await call('put', { agent: a, key: keys[i * 3]!, value: val(keys[i * 3]!) });
    expect((await call('snapshot', { agent: a })).root).toEqual(r1);
    await call('apply', { agent: a, delta: { deletes: keys } });
    const batch = await call('apply', { agent: a, delta: { puts: keys.map((k) => [k, val(k)]) } });
    expect(batch.root).toEqual(r1);
    // Another agent with the same content has another salt, so (almost surely) another tree.
    const other = await call('apply', { agent: 'hi-2', delta: { puts: keys.map((k) => [k, val(k)]) } });
    expect(other.root).not.toEqual(r1);
    expect(await call('diff', { rootA: r1, rootB: other.root })).toEqual({ puts: [], deletes: [] });
  });

  it('diff/apply round trip: apply(diff(a, b)) onto a gives b', async () => {
    const base = Array.from({ length: 1500 }, (_, i) => [`/d/${i}`, i % 3 ? bytes(`v${i}`) : new Uint8Array(100).fill(i & 0xff)] as [string, Uint8Array]);
    const a = await call('apply', { agent: 'diff-a', delta: { puts: base } });
    const changed = base.filter((_, i) => i % 50 === 0).map(([k]) => [k, bytes('changed')]);
    const added = [
      ['/d/new/1', bytes('n1')],
      ['/e', new Uint8Array(300).fill(1)],
    ];
    const removed = base.filter((_, i) => i % 70 === 1).map(([k]) => k);
    await call('apply', { agent: 'diff-b', delta: { puts: base } });
    const b = await call('apply', { agent: 'diff-b', delta: { puts: [...changed, ...added], deletes: removed } });
    const d = await call('diff', { rootA: a.root, rootB: b.root });
    expect(d.deletes.sort()).toEqual([...removed].sort());
    expect(d.puts.length).toBe(changed.length + added.length);
    expect(await call('diff', { rootA: a.root, rootB: a.root })).toEqual({ puts: [], deletes: [] });
    const back = await call('diff', { rootA: b.root, rootB: a.root });
    expect(back.puts.length).toBe(removed.length + changed.length);
    const applied = await call('apply', { agent: 'diff-a', delta: d });
    // diff-a now holds diff-b's content (its tree differs: each agent has its own salt).
    expect(await call('diff', { rootA: applied.root, rootB: b.root })).toEqual({ puts: [], deletes: [] });
    const reverted = await call('apply', { agent: 'diff-a', delta: back });
    expect(reverted.root).toEqual(a.root); // the same content under the same salt: the same root
  });

  it('isolates agents', async () => {
    await call('put', { agent: 'alice', key: '/secret', value: bytes('a') });
    await call('put', { agent: 'bob', key: '/secret', value: bytes('b') });
    expect(await call('get', { agent: 'alice', key: '/secret' })).toEqual(bytes('a'));
    expect(await call('get', { agent: 'bob', key: '/secret' })).toEqual(bytes('b'));
    await call('delete', { agent: 'bob', key: '/secret' });
    expect(await call('get', { agent: 'alice', key: '/secret' })).toEqual(bytes('a'));
    expect((await call('list', { agent: 'bob' })).entries).toEqual([]);
    expect((await call('history', { agent: 'alice' })).roots.length).toBe(1);
  });

  it('answers hostile input with typed errors and keeps serving', async () => {
    const exportsWithAgent = ['get', 'put', 'delete', 'list', 'snapshot', 'restore', 'apply', 'history'];
    for (const exp of [...exportsWithAgent, 'diff']) {
      for (const raw of [
        new Uint8Array(0),
        new Uint8Array([0xa1]),
        new Uint8Array([0xff]),
        new Uint8Array([0x82, 0x01]),
        encodeCbor([1, 2]),
        encodeCbor('x'),
        new Uint8Array([0xbf, 0xff]),
      ]) {
        await expect(kernel.call(NAME, exp, raw), `${exp} ${Buffer.from(raw).toString('hex')}`).rejects.toMatchObject({ code: 'EINPUT' });
      }
    }
    for (const exp of exportsWithAgent) {
      await expect(call(exp, { agent: 7, key: 'k' })).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(call(exp, { agent: '', key: 'k' })).rejects.toMatchObject({ code: 'EINPUT' });
      await expect(call(exp, { agent: 'x'.repeat(5000), key: 'k' })).rejects.toMatchObject({ code: 'ETOOBIG' });
    }
    const huge = 'k'.repeat(1025);
    await expect(call('get', { agent: 'h', key: huge })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('put', { agent: 'h', key: huge, value: bytes('v') })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('delete', { agent: 'h', key: huge })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('list', { agent: 'h', prefix: huge })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('put', { agent: 'h', key: 'k', value: new Uint8Array((1 << 20) + 1) })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('apply', { agent: 'h', delta: { puts: [[huge, bytes('v')]] } })).rejects.toMatchObject({ code: 'ETOOBIG' });
    await expect(call('put', { agent: 'h', key: 'k', value: 'text' })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('put', { agent: 'h', key: 5, value: bytes('v') })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('put', { agent: 'h', value: bytes('v') })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('list', { agent: 'h', limit: 0 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('list', { agent: 'h', limit: 5000 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('list', { agent: 'h', cursor: 3 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('history', { agent: 'h', limit: -1 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('restore', { agent: 'h', root: bytes('short') })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('restore', { agent: 'h', root: 'text' })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('diff', { rootA: new Uint8Array(32), rootB: 1 })).rejects.toMatchObject({ code: 'EINPUT' });
    await expect(call('diff', { rootA: new Uint8Array(32), rootB: new Uint8Array(32) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    for (const delta of [
      null,
      1,
      [],
      { puts: 1 },
      { puts: [[1, 2]] },
      { puts: [['k']] },
      { puts: [['k', 'v']] },
      { deletes: [1] },
      { deletes: 'k' },
      { puts: [['k', bytes('v')]], deletes: ['k'] },
      {
        puts: [
          ['k', bytes('v')],
          ['k', bytes('w')],
        ],
      },
    ]) {
      await expect(call('apply', { agent: 'h', delta }), JSON.stringify(delta)).rejects.toMatchObject({ code: 'EINPUT' });
    }
    // Still serving, and nothing was written for agent h.
    expect((await call('snapshot', { agent: 'h' })).version).toBe(0);
    await call('put', { agent: 'h', key: 'ok', value: bytes('v') });
    expect(await call('get', { agent: 'h', key: 'ok' })).toEqual(bytes('v'));
  });

  it('stores a 1 MiB value and keys with non-ASCII text', async () => {
    const v = new Uint8Array(1 << 20).fill(3);
    await call('put', { agent: 'u', key: '/Zoë/🌍', value: v });
    expect(await call('get', { agent: 'u', key: '/Zoë/🌍' })).toEqual(v);
    await call('put', { agent: 'u', key: '/Zoe', value: bytes('plain') });
    await call('put', { agent: 'u', key: '/Zo\uffff', value: bytes('bmp') });
    const keys = (await call('list', { agent: 'u', prefix: '/Zo' })).entries.map(([k]: [string]) => k);
    expect(keys).toEqual(['/Zoe', '/Zoë/🌍', '/Zo\uffff']); // UTF-8 byte order
  });
});
