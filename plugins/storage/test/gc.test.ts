// gc: the plugin's `gc` export (retention and marking) with the host's sweep (collectGarbage), over
// MemoryStore and LmdbStore: exactly the unreachable blocks go, every kept snapshot restores, hostile
// input is refused, and writers racing the sweep lose nothing.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor } from '@mcp0/abi';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { MemoryStore, collectGarbage, type Store } from '@mcp0/sdk';
import type { Kernel } from '@mcp0/kernel';
import { decodeNode } from './format.js';
import { NAME, boot, bytes, reachable } from './harness.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type State = Map<string, Uint8Array>;

const stores: [string, () => { store: Store; cleanup: () => void }][] = [
  ['MemoryStore', () => ({ store: new MemoryStore(), cleanup: () => {} })],
  [
    'LmdbStore',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'mcp0-storage-gc-'));
      return { store: LmdbStore.open(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
];

/** Every stored block id (hex). */
async function stored(store: Store): Promise<Set<string>> {
  const out = new Set<string>();
  for (let after: Uint8Array | undefined; ; ) {
    const rows = await store.listBlocks(after, 500);
    rows.forEach((r) => out.add(hexOf(r.id)));
    if (rows.length < 500) return out;
    after = rows.at(-1)!.id;
  }
}

describe.each(stores)('gc over %s', (_name, open) => {
  let kernel: Kernel;
  let store: Store;
  let cleanup: () => void;
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  const gc = (options: { keep?: number; graceMs?: number; call?: typeof call } = {}) =>
    collectGarbage({ store, call: options.call ?? call, keep: options.keep, graceMs: options.graceMs ?? 0 });

  /** Writes `versions` versions to `agent` (each changes inline and out-of-line values); the states, oldest first. */
  async function writeHistory(agent: string, versions: number, model: State = new Map()): Promise<{ roots: Uint8Array[]; states: State[] }> {
    const roots: Uint8Array[] = [];
    const states: State[] = [];
    for (let v = 0; v < versions; v++) {
      const deletes = v > 0 && model.has(`/m/${v * 7}`) ? [`/m/${v * 7}`] : [];
      const puts: [string, Uint8Array][] = [];
      for (let i = 0; i < 40; i++) {
        const key = `/m/${(v * 17 + i) % 90}`;
        if (deletes.includes(key)) continue;
        const value = i % 3 ? new Uint8Array(randomBytes(200 + i)) : bytes(`${agent} v${v} i${i}`);
        puts.push([key, value]);
        model.set(key, value);
      }
      for (const k of deletes) model.delete(k);
      await call('apply', { agent, delta: { puts, deletes } });
      roots.push((await call('snapshot', { agent })).root);
      states.push(new Map(model));
    }
    return { roots, states };
  }

  async function contents(agent: string): Promise<State> {
    const page = await call('list', { agent, limit: 1000 });
    expect(page.cursor).toBeNull();
    return new Map(page.entries);
  }

  beforeAll(async () => {
    ({ store, cleanup } = open());
    kernel = await boot(store.blocks);
  });
  afterAll(async () => {
    await kernel.stop();
    await store.close();
    cleanup();
  });

  it('keeps everything a commit reaches by default, and frees the blocks of interrupted writes', async () => {
    const a = await writeHistory('keep-all', 4);
    // A write that died before its ref_cas: blocks no head reaches.
    const orphans = await store.blocks.put([new Uint8Array(randomBytes(300)), new Uint8Array(randomBytes(5000))]);
    const before = await stored(store);
    await sleep(5);
    const report = await gc();
    const expected = await reachable(store.blocks, 'keep-all');
    const after = await stored(store);
    expect([...after].sort()).toEqual([...expected].sort());
    for (const o of orphans) expect(after.has(hexOf(o))).toBe(false);
    expect(report).toMatchObject({ agents: 1, dropped: 0, commits: 4, live: expected.size, swept: before.size - after.size, young: 0 });
    // Every snapshot of the history still restores to exactly its state.
    for (let v = 0; v < 4; v++) {
      await call('restore', { agent: 'keep-all', root: a.roots[v] });
      expect(await contents('keep-all')).toEqual(a.states[v]);
    }
    await call('restore', { agent: 'keep-all', root: a.roots[3] }); // back to the newest state
    expect((await gc()).swept).toBe(0); // nothing new to free
  });

  it('drops history past keep, frees exactly what no kept commit reaches, and every kept snapshot restores', async () => {
    const x = await writeHistory('keep-x', 6);
    const y = await writeHistory('keep-y', 2);
    await sleep(5);
    const report = await gc({ keep: 2 });
    expect(report.dropped).toBe(2); // keep-all (4 versions and restores) and keep-x; keep-y has just 2
    expect(report.swept).toBeGreaterThan(0);
    // The live set is exactly what the kept heads reach, walked by the documented format.
    const expected = new Set<string>();
    for (const agent of ['keep-all', 'keep-x', 'keep-y']) await reachable(store.blocks, agent, expected);
    expect([...(await stored(store))].sort()).toEqual([...expected].sort());
    expect(report.live).toBe(expected.size);
    // history is the two newest roots; both restore to their states; older ones are gone (typed).
    expect((await call('history', { agent: 'keep-x', limit: 100 })).roots).toEqual([x.roots[5], x.roots[4]]);
    expect((await call('history', { agent: 'keep-y', limit: 100 })).roots).toEqual([y.roots[1], y.roots[0]]);
    await call('restore', { agent: 'keep-x', root: x.roots[4] });
    expect(await contents('keep-x')).toEqual(x.states[4]);
    await call('restore', { agent: 'keep-x', root: x.roots[5] });
    expect(await contents('keep-x')).toEqual(x.states[5]);
    for (const old of x.roots.slice(0, 4)) {
      await expect(call('restore', { agent: 'keep-x', root: old })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    }
    expect(await contents('keep-x')).toEqual(x.states[5]); // a failed restore moved nothing
    // Snapshot roots are tree ids: dropping history does not change them.
    expect((await call('snapshot', { agent: 'keep-y' })).root).toEqual(y.roots[1]);
    // gc is idempotent: the same policy again drops and frees nothing more (restores added commits).
    const again = await gc({ keep: 4 });
    expect(again.dropped).toBe(0);
  });

  it('pages the mark of a large agent through after/limit', async () => {
    await writeHistory('paged', 2);
    const all = await call('gc', { agent: 'paged' });
    expect(all.cursor).toBeNull();
    expect(all.live.length).toBe(all.blocks * 32);
    const pages: Uint8Array[] = [];
    let cursor: Uint8Array | null = null;
    do {
      const page: any = await call('gc', { agent: 'paged', after: cursor, limit: 7 });
      expect(page.live.length).toBeLessThanOrEqual(7 * 32);
      pages.push(page.live);
      cursor = page.cursor;
    } while (cursor);
    expect(Buffer.concat(pages)).toEqual(Buffer.from(all.live));
    const ids = Array.from({ length: all.blocks }, (_, i) => hexOf(all.live.subarray(i * 32, i * 32 + 32)));
    expect(ids).toEqual([...ids].sort()); // in byte order
    expect(new Set(ids)).toEqual(await reachable(store.blocks, 'paged'));
    expect(await call('gc', { agent: 'never-written' })).toEqual({ live: new Uint8Array(0), cursor: null, blocks: 0, commits: 0, dropped: false });
  });

  it('refuses hostile gc input with typed errors, and deletes nothing when a mark is malformed or fails', async () => {
    const bad: [unknown, string][] = [
      [{ agent: 'g', keep: 0 }, 'EINPUT'],
      [{ agent: 'g', keep: 1_000_001 }, 'EINPUT'],
      [{ agent: 'g', keep: 'all' }, 'EINPUT'],
      [{ agent: 'g', keep: -1 }, 'EINPUT'],
      [{ agent: 'g', after: new Uint8Array(31) }, 'EINPUT'],
      [{ agent: 'g', after: 'x' }, 'EINPUT'],
      [{ agent: 'g', limit: 0 }, 'EINPUT'],
      [{ agent: 'g', limit: 65_537 }, 'EINPUT'],
      [{ agent: '' }, 'EINPUT'],
      [{ agent: 7 }, 'EINPUT'],
      [{ agent: 'x'.repeat(201) }, 'ETOOBIG'],
      [{}, 'EINPUT'],
      [[1, 2], 'EINPUT'],
    ];
    for (const [input, code] of bad) await expect(call('gc', input), JSON.stringify(input)).rejects.toMatchObject({ code });
    for (const raw of [new Uint8Array([0xff]), new Uint8Array([0xa1, 0x65]), encodeCbor({ agent: 'g' }).subarray(0, 4), new Uint8Array(0)]) {
      await expect(kernel.call(NAME, 'gc', raw)).rejects.toMatchObject({ code: 'EINPUT' });
    }
    await store.blocks.put([new Uint8Array(randomBytes(100))]); // garbage a sweep would take
    await sleep(5);
    const count = (await stored(store)).size;
    for (const keep of [0, 1.5, -3, Number.NaN]) await expect(gc({ keep })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(gc({ graceMs: -1 })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(gc({ graceMs: Infinity })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(gc({ call: async () => ({ live: 'everything' }) })).rejects.toMatchObject({ code: 'EINTERNAL' });
    await expect(gc({ call: async () => ({ live: new Uint8Array(33), cursor: null, commits: 1, dropped: false }) })).rejects.toMatchObject({
      code: 'EINTERNAL',
    });
    await expect(
      gc({
        call: async () => {
          throw Object.assign(new Error('store down'), { code: 'EUNAVAILABLE' });
        },
      }),
    ).rejects.toThrow('store down');
    expect((await stored(store)).size).toBe(count);
  });

  it('reports a tree block missing from the store and deletes nothing', async () => {
    const { roots } = await writeHistory('broken', 1);
    const root = decodeNode((await store.blocks.get(roots[0]!))!);
    const victim = root.level > 0 ? root.items[0]!.child! : roots[0]!;
    const victimBytes = (await store.blocks.get(victim))!;
    await store.blocks.put([new Uint8Array(randomBytes(64))]); // garbage a sweep would take
    await sleep(5);
    await store.deleteBlocks([victim]);
    const count = (await stored(store)).size;
    await expect(gc()).rejects.toMatchObject({ code: 'EINTERNAL', message: expect.stringContaining('missing') });
    expect((await stored(store)).size).toBe(count);
    await store.blocks.put([victimBytes]); // the block comes back (from a backup, say): whole again
    await reachable(store.blocks, 'broken');
  });

  it('never sweeps what a writer reaches while the gc runs: new puts, a re-put of an old block, a restore of a dropped root', async () => {
    const b = await writeHistory('race-b', 3);
    await writeHistory('race-a', 1);
    await writeHistory('race-c', 1);
    const [oldOrphan] = await store.blocks.put([bytes('an old block nobody reaches, put again by a writer')]);
    // Drop b's history without sweeping (everything is within the grace period).
    expect(await gc({ keep: 1, graceMs: 3_600_000 })).toMatchObject({ swept: 0 });
    await sleep(10); // everything above is now older than the next gc's start
    let raced = false;
    const racing = async (exp: string, input: Record<string, unknown>) => {
      const out = await call(exp, input);
      if (input.agent === 'race-c' && !raced) {
        raced = true; // race-a and race-b are marked already
        await call('restore', { agent: 'race-b', root: b.roots[0] }); // unmarked, old blocks
        await call('put', { agent: 'race-a', key: '/new', value: new Uint8Array(randomBytes(3000)) });
        await store.blocks.put([bytes('an old block nobody reaches, put again by a writer')]);
      }
      return out;
    };
    const report = await gc({ call: racing as typeof call });
    expect(raced).toBe(true);
    expect(report.young).toBeGreaterThan(0); // the race happened: unmarked blocks were spared as young
    expect(report.swept).toBeGreaterThan(0); // b's other dropped versions went
    // Every head is whole, and b holds exactly its restored state.
    for (const agent of ['race-a', 'race-b', 'race-c']) await reachable(store.blocks, agent);
    expect(await contents('race-b')).toEqual(b.states[0]);
    expect((await call('get', { agent: 'race-a', key: '/new' }))?.length).toBe(3000);
    expect(await store.blocks.has([oldOrphan!])).toEqual([true]);
    // The next gc, with no writer, frees the leftovers: what remains is exactly the reachable set.
    await sleep(5);
    await gc();
    const expected = new Set<string>();
    for (const agent of await store.listRefs(NAME, 'head/', 100)) await reachable(store.blocks, agent.slice(5), expected);
    expect([...(await stored(store))].sort()).toEqual([...expected].sort());
  });
});
