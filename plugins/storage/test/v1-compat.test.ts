// A store written by mcp0.storage 0.2.0 (format version 1: whole keys in nodes, SHA-256 boundaries,
// commits without a salt), recorded in fixtures/v1-store.json by fixtures/make-v1.mjs, keeps
// working: the current plugin reads it, writes it (version 2 nodes for what changes, the unchanged
// version 1 subtrees shared), snapshots, restores, diffs and gcs it, and archives carry it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor, generateKeyPair } from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import { MemoryStore, collectGarbage } from '@mcp0/sdk';
import { exportAgent, importAgent } from '@mcp0/sdk/archive';
import { decodeCommit, decodeNode, hexOf } from './format.js';
import { NAME, boot, bytes, reachable } from './harness.js';

interface Fixture {
  blocks: string[];
  agents: Record<string, { head: string; history: string[]; states: { root: string; count: number; digest: string }[] }>;
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'v1-store.json'), 'utf8')) as Fixture;
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The state at the fixture's head of each agent: its newest recorded state. */
const small = fixture.agents['v1-small']!;
const big = fixture.agents['v1-big']!;

/** Loads the fixture into a fresh store: every block, and each agent's head. */
function loadFixture(store: MemoryStore): void {
  store.blocks.put(fixture.blocks.map((b) => new Uint8Array(Buffer.from(b, 'base64'))));
  for (const [agent, a] of Object.entries(fixture.agents)) store.blocks.refCas(NAME, `head/${agent}`, 0, fromHex(a.head));
}

describe('a version 1 store (written by 0.2.0)', () => {
  let kernel: Kernel;
  const store = new MemoryStore();
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;

  /** Every entry of an agent (or at a root), and the digest the fixture recorded for such a listing. */
  async function listing(agent: string, root?: Uint8Array): Promise<{ entries: [string, Uint8Array][]; digest: string }> {
    const entries: [string, Uint8Array][] = [];
    for (let cursor: string | null = null; ; ) {
      const page: { entries: [string, Uint8Array][]; cursor: string | null } = await call('list', { agent, limit: 1000, cursor, ...(root ? { root } : {}) });
      entries.push(...page.entries);
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    return {
      entries,
      digest: createHash('sha256')
        .update(encodeCbor(entries as never))
        .digest('hex'),
    };
  }

  beforeAll(async () => {
    loadFixture(store);
    kernel = await boot(store.blocks);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
  });

  it('is version 1 as recorded: whole-key nodes and commits without a salt', () => {
    const head = decodeCommit(store.blocks.get(fromHex(big.head))!);
    expect(head.salt).toBeNull();
    expect(decodeNode(store.blocks.get(head.tree)!)).toMatchObject({ version: 1, level: 2 });
  });

  it('reads it: snapshot, history, get, list, and every recorded state at its root', async () => {
    for (const a of [small, big]) {
      const agent = a === small ? 'v1-small' : 'v1-big';
      const snap = await call('snapshot', { agent });
      expect(hexOf(snap.root)).toBe(a.history[0]);
      expect(snap.version).toBe(1);
      expect((await call('history', { agent, limit: 1000 })).roots.map(hexOf)).toEqual(a.history);
      for (const s of a.states) {
        const got = await listing(agent, fromHex(s.root));
        expect(got.entries.length).toBe(s.count);
        expect(got.digest).toBe(s.digest);
      }
      const head = a.states.at(-1)!;
      expect((await listing(agent)).digest).toBe(head.digest);
    }
    expect(await call('get', { agent: 'v1-small', key: '/c' })).toEqual(bytes('gamma'));
    expect(await call('get', { agent: 'v1-small', key: '/a' })).toBeNull();
    expect((await call('get', { agent: 'v1-big', key: '/memory/notes/8' }))?.length).toBeGreaterThan(64); // out of line
    expect(await call('get', { agent: 'v1-big', key: '/memory/notes/7' })).toBeNull(); // deleted in version 1
  });

  it('diffs version 1 roots', async () => {
    const [first, second] = small.states;
    const d = await call('diff', { rootA: fromHex(first!.root), rootB: fromHex(second!.root) });
    expect(d.deletes).toEqual(['/a']);
    expect(d.puts.map(([k]: [string]) => k)).toEqual(['/c', '/d/1']);
    const back = await call('diff', { rootA: fromHex(big.states[1]!.root), rootB: fromHex(big.states[0]!.root) });
    expect(back.deletes).toEqual([]);
    expect(back.puts.length).toBe(21); // the 20 puts (some keys twice) and the delete, undone
  });

  it('writes nothing for a write that changes nothing, even though its tree was cut by the version 1 rule', async () => {
    const before = await call('snapshot', { agent: 'v1-big' });
    const value = await call('get', { agent: 'v1-big', key: '/memory/notes/2' });
    expect((await call('put', { agent: 'v1-big', key: '/memory/notes/2', value })).root).toEqual(before.root);
    expect(await call('snapshot', { agent: 'v1-big' })).toEqual(before);
  });

  it('writes it: a salt from the first write on, version 2 nodes for what changes, version 1 subtrees shared', async () => {
    const agent = 'v1-big';
    const before = await listing(agent);
    await call('put', { agent, key: '/memory/notes/10', value: bytes('changed') });
    await call('apply', { agent, delta: { puts: [['/memory/new', new Uint8Array(500).fill(4)]], deletes: ['/memory/notes/11'] } });
    const head = decodeCommit(store.blocks.get(store.blocks.refGet(NAME, `head/${agent}`)!.root)!);
    expect(head.salt?.length).toBe(16);
    // The salt is inherited: both new commits carry the same one.
    expect(hexOf(decodeCommit(store.blocks.get(head.parent!)!).salt!)).toBe(hexOf(head.salt!));
    const root = decodeNode(store.blocks.get(head.tree)!);
    expect(root.version).toBe(2);
    const versions = new Set<number>();
    const walk = (id: Uint8Array) => {
      const n = decodeNode(store.blocks.get(id)!);
      versions.add(n.version);
      if (n.level > 0) n.items.forEach((it) => walk(it.child!));
    };
    walk(head.tree);
    expect([...versions].sort()).toEqual([1, 2]); // a mixed tree: unchanged subtrees are the old blocks
    const model = new Map(before.entries);
    model.set('/memory/notes/10', bytes('changed')).set('/memory/new', new Uint8Array(500).fill(4));
    model.delete('/memory/notes/11');
    const after = await listing(agent);
    expect(after.entries).toEqual([...model.entries()].sort(([x], [y]) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    // The recorded version 1 states still read exactly as recorded.
    for (const s of big.states) expect((await listing(agent, fromHex(s.root))).digest).toBe(s.digest);
    await reachable(store.blocks, agent); // every block the head reaches is there
  });

  it('restores version 1 roots, and writes on from them', async () => {
    const agent = 'v1-small';
    const [first] = small.states;
    await call('restore', { agent, root: fromHex(first!.root) });
    expect((await listing(agent)).digest).toBe(first!.digest);
    expect(await call('get', { agent, key: '/a' })).toEqual(bytes('alpha'));
    await call('put', { agent, key: '/e', value: bytes('epsilon') });
    expect((await listing(agent)).entries.map(([k]) => k)).toEqual(['/a', '/b', '/e']);
    // A restore into another agent (outside its history: the re-put walk reads version 1 nodes).
    await call('restore', { agent: 'copy', root: fromHex(big.states[0]!.root) });
    expect((await listing('copy')).digest).toBe(big.states[0]!.digest);
  });

  it('gcs it: marks version 1 and 2 blocks alike, drops history past keep, and what is kept reads the same', async () => {
    const keptBig = await listing('v1-big');
    const keptSmall = await listing('v1-small');
    await sleep(5);
    const report = await collectGarbage({ store, call, keep: 1, graceMs: 0 });
    expect(report.swept).toBeGreaterThan(0);
    const expected = new Set<string>();
    for (const agent of ['v1-big', 'v1-small', 'copy']) await reachable(store.blocks, agent, expected);
    const stored = new Set((await store.listBlocks(undefined, 100_000)).map((r) => hexOf(r.id)));
    expect([...stored].sort()).toEqual([...expected].sort());
    expect((await listing('v1-big')).digest).toBe(keptBig.digest);
    expect((await listing('v1-small')).digest).toBe(keptSmall.digest);
    expect((await call('history', { agent: 'v1-big' })).roots.length).toBe(1);
  });

  it('archives it: export and import of a version 1 agent, and of a mixed one, into a fresh store', async () => {
    const key = generateKeyPair();
    const fresh = new MemoryStore();
    loadFixture(fresh);
    // The untouched version 1 store with its history; the mixed one (after the gc above) as its current state.
    for (const [agent, from, history] of [
      ['v1-big', fresh, true],
      ['v1-big', store, false],
    ] as const) {
      const archive = await exportAgent(from, agent, { key, history });
      const target = new MemoryStore();
      await importAgent(target, archive, { trust: [key.publicKey] });
      const k2 = await boot(target.blocks);
      try {
        const page = (await k2.callValue(NAME, 'list', { agent, limit: 1000 })) as { entries: [string, Uint8Array][] };
        const expected = await (async () => {
          const k3 = await boot(from.blocks);
          try {
            return ((await k3.callValue(NAME, 'list', { agent, limit: 1000 })) as { entries: [string, Uint8Array][] }).entries;
          } finally {
            await k3.stop();
          }
        })();
        expect(page.entries).toEqual(expected);
      } finally {
        await k2.stop();
        await target.close();
      }
    }
    await fresh.close();
  });
});
