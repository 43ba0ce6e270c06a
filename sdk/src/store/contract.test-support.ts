/**
 * The Store contract: one vitest suite that every store implementation (memory, LMDB, MongoDB)
 * runs, so they all keep the same rules for blocks, refs, kv, limits and durability. Test support
 * only: excluded from the build by its `.test-support.ts` name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Mcp0Error } from '@mcp0/abi';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreDamage, StoreFaults } from './faults.js';
import { openStore } from './open.js';
import type { Store } from './types.js';

/**
 * How the suite reaches an implementation.
 * @example
 * storeContract('mongodb', open, { reopen: (s) => MongoStore.connect(s.uri) })
 */
export interface ContractOptions {
  /** Reopens a closed durable store; defaults to `openStore(store.uri)`. */
  reopen?: (closed: Store) => Promise<Store>;
  /**
   * Writes raw bytes under a block id; defaults to the `corruptBlock` the store hands the fault
   * hooks `open` was given (StoreFaults.opened).
   */
  corrupt?: (store: Store, id: Uint8Array, bytes: Uint8Array) => Promise<void>;
}

const te = new TextEncoder();
const bytes = (text: string): Uint8Array => te.encode(text);
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const plain = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : [...b]);
const unique = (): Uint8Array => new Uint8Array(randomBytes(48));

/** The error `f` throws (sync or async), or fails the test. */
async function caught(f: () => unknown): Promise<Mcp0Error> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(Mcp0Error);
    return e as Mcp0Error;
  }
  throw new Error('expected an error, none was thrown');
}

/**
 * Registers the contract's `describe` blocks for one implementation. `open` gives a fresh, empty
 * store each call (the suite closes it), opened with the fault hooks it is given.
 * @example
 * storeContract('memory', async (faults) => new MemoryStore({ faults }))
 */
export function storeContract(name: string, open: (faults: StoreFaults) => Promise<Store>, options: ContractOptions = {}): void {
  const reopen = options.reopen ?? ((closed: Store) => openStore(closed.uri));
  const damages = new WeakMap<Store, StoreDamage>();
  const corrupt =
    options.corrupt ??
    (async (store: Store, id: Uint8Array, b: Uint8Array) => {
      const damage = damages.get(store);
      if (!damage) throw new Error(`${name}: the store was not opened with the fault hooks given to open(); pass them to the store, or options.corrupt`);
      await damage.corruptBlock(id, b);
    });
  const opened: Store[] = [];
  const fresh = async (): Promise<Store> => {
    let damage: StoreDamage | undefined;
    const store = await open({ opened: (d) => (damage = d) });
    if (damage) damages.set(store, damage);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  describe(`${name} store: blocks`, () => {
    it('names blocks by SHA-256 and put is idempotent (put-if-absent)', async () => {
      const store = await fresh();
      const a = bytes('hello blocks');
      const [id] = await store.blocks.put([a]);
      expect(plain(id)).toEqual(plain(sha(a)));
      const again = await store.blocks.put([a, a]);
      expect(again.map(plain)).toEqual([plain(id), plain(id)]);
      expect(plain(await store.blocks.get(id!))).toEqual(plain(a));
      expect(await store.blocks.has([id!])).toEqual([true]);
    });

    it('stores the empty block', async () => {
      const store = await fresh();
      const [id] = await store.blocks.put([new Uint8Array()]);
      expect(plain(await store.blocks.get(id!))).toEqual([]);
    });

    it('answers undefined and false for missing blocks', async () => {
      const store = await fresh();
      const missing = sha(unique());
      expect(await store.blocks.get(missing)).toBeUndefined();
      expect(await store.blocks.has([missing, sha(unique())])).toEqual([false, false]);
      expect(await store.blocks.get(new Uint8Array(5))).toBeUndefined();
    });

    it('puts many blocks in one call and reads each back', async () => {
      const store = await fresh();
      const blocks = Array.from({ length: 2000 }, (_, i) => bytes(`block ${i} `.repeat(1 + (i % 7))));
      const ids = await store.blocks.put(blocks);
      expect(ids).toHaveLength(blocks.length);
      expect((await store.blocks.has(ids)).every(Boolean)).toBe(true);
      for (const i of [0, 1, 999, 1999]) expect(plain(await store.blocks.get(ids[i]!))).toEqual(plain(blocks[i]));
    });

    it('returns stored bytes, unaffected by later changes to the caller’s array', async () => {
      const store = await fresh();
      const a = bytes('mutable');
      const [id] = await store.blocks.put([a]);
      a[0] = 0;
      expect(plain(await store.blocks.get(id!))).toEqual(plain(bytes('mutable')));
    });

    it('deletes blocks and counts those that existed', async () => {
      const store = await fresh();
      const ids = await store.blocks.put([bytes('gc 1'), bytes('gc 2')]);
      expect(await store.deleteBlocks([ids[0]!, sha(unique())])).toBe(1);
      expect(await store.blocks.has(ids)).toEqual([false, true]);
      expect(await store.blocks.get(ids[0]!)).toBeUndefined();
    });

    it('lists blocks in id order with their write times, paging with after', async () => {
      const store = await fresh();
      const t0 = Date.now();
      const ids = await store.blocks.put(Array.from({ length: 7 }, (_, i) => bytes(`list ${i}`)));
      const sorted = ids.map((id) => Buffer.from(id).toString('hex')).sort();
      const first = await store.listBlocks(undefined, 4);
      const rest = await store.listBlocks(first.at(-1)!.id, 100);
      expect([...first, ...rest].map((e) => Buffer.from(e.id).toString('hex'))).toEqual(sorted);
      for (const e of [...first, ...rest]) expect(e.writtenAt).toBeGreaterThanOrEqual(t0 - 1000);
      expect(await store.listBlocks(undefined, 0)).toEqual([]);
      await expect(async () => store.listBlocks(undefined, -1)).rejects.toMatchObject({ code: 'EUSAGE' });
    });

    it('deletes only blocks written before writtenBefore, and a re-put freshens a block', async () => {
      const store = await fresh();
      const [old] = await store.blocks.put([bytes('old block')]);
      const cutoff = Date.now() + 5_000; // both blocks count as written before it
      expect(await store.deleteBlocks([old!], { writtenBefore: 0 })).toBe(0); // written after 0
      expect(await store.blocks.has([old!])).toEqual([true]);
      const listed = (await store.listBlocks(undefined, 10)).find((e) => Buffer.compare(e.id, old!) === 0)!;
      // A re-put moves the write time forward (never back), so a cutoff taken before it spares it.
      await new Promise((r) => setTimeout(r, 5));
      await store.blocks.put([bytes('old block')]);
      const again = (await store.listBlocks(undefined, 10)).find((e) => Buffer.compare(e.id, old!) === 0)!;
      expect(again.writtenAt).toBeGreaterThan(listed.writtenAt);
      expect(await store.deleteBlocks([old!], { writtenBefore: again.writtenAt })).toBe(0);
      expect(await store.deleteBlocks([old!, sha(unique())], { writtenBefore: cutoff })).toBe(1);
      expect(await store.blocks.has([old!])).toEqual([false]);
      await expect(async () => store.deleteBlocks([old!], { writtenBefore: Number.NaN })).rejects.toMatchObject({ code: 'EUSAGE' });
    });

    it('lists ref names of a namespace by prefix, in byte order, paging with after', async () => {
      const store = await fresh();
      const root = sha(bytes('r'));
      for (const name of ['head/b', 'head/a', 'head/ä', 'other', 'head/a/x']) await store.blocks.refCas('ns', name, 0, root);
      await store.blocks.refCas('ns', 'head/a', 1, root); // a second version lists once
      await store.blocks.refCas('ns2', 'head/z', 0, root);
      expect(await store.listRefs('ns', 'head/', 100)).toEqual(['head/a', 'head/a/x', 'head/b', 'head/ä']);
      expect(await store.listRefs('ns', 'head/', 2)).toEqual(['head/a', 'head/a/x']);
      expect(await store.listRefs('ns', 'head/', 100, 'head/a/x')).toEqual(['head/b', 'head/ä']);
      expect(await store.listRefs('ns', '', 100, 'head/ä')).toEqual(['other']);
      expect(await store.listRefs('ns3', '', 100)).toEqual([]);
    });

    it('reports a corrupted block as EINTERNAL, never as data', async () => {
      const store = await fresh();
      const [id] = await store.blocks.put([bytes('honest bytes')]);
      await corrupt(store, id!, bytes('tampered bytes'));
      const e = await caught(() => store.blocks.get(id!));
      const hex = Buffer.from(id!).toString('hex');
      expect(e.code).toBe('EINTERNAL');
      expect(e.message).toBe(`corrupt block ${hex}: hash mismatch`);
      expect(e.details).toEqual({ id: hex, got: Buffer.from(sha(bytes('tampered bytes'))).toString('hex') });
    });

    it('refuses a block over 1 MiB with ETOOBIG naming the limit, and stores one of exactly 1 MiB', async () => {
      const store = await fresh();
      const e = await caught(() => store.blocks.put([bytes('ok'), new Uint8Array((1 << 20) + 1)]));
      expect(e.code).toBe('ETOOBIG');
      expect(e.details).toMatchObject({ limit: 1 << 20, got: (1 << 20) + 1 });
      expect(await store.blocks.has([sha(bytes('ok'))])).toEqual([false]);
      const big = new Uint8Array(randomBytes(1 << 20));
      const [id] = await store.blocks.put([big]);
      expect((await store.blocks.get(id!))?.length).toBe(1 << 20);
    });
  });

  describe(`${name} store: refs`, () => {
    it('answers undefined for an absent ref, and CAS from 0 creates version 1', async () => {
      const store = await fresh();
      expect(await store.blocks.refGet('ns', 'head')).toBeUndefined();
      const root = sha(bytes('root 1'));
      expect(await store.blocks.refCas('ns', 'head', 0, root)).toBe(1);
      const ref = await store.blocks.refGet('ns', 'head');
      expect(ref?.version).toBe(1);
      expect(plain(ref?.root)).toEqual(plain(root));
      expect(await store.blocks.refCas('ns', 'head', 1, sha(bytes('root 2')))).toBe(2);
    });

    it('throws ECONFLICT with {expected, actual} on a stale CAS and leaves the ref alone', async () => {
      const store = await fresh();
      await store.blocks.refCas('ns', 'r', 0, sha(bytes('a')));
      let e = await caught(() => store.blocks.refCas('ns', 'r', 0, sha(bytes('b'))));
      expect(e.code).toBe('ECONFLICT');
      expect(e.details).toMatchObject({ expected: 0, actual: 1 });
      e = await caught(() => store.blocks.refCas('ns', 'other', 3, sha(bytes('b'))));
      expect(e.details).toMatchObject({ expected: 3, actual: 0 });
      expect(plain((await store.blocks.refGet('ns', 'r'))?.root)).toEqual(plain(sha(bytes('a'))));
    });

    it('keeps refs of different namespaces apart', async () => {
      const store = await fresh();
      await store.blocks.refCas('a', 'head', 0, sha(bytes('a')));
      expect(await store.blocks.refGet('b', 'head')).toBeUndefined();
      expect(await store.blocks.refCas('b', 'head', 0, sha(bytes('b')))).toBe(1);
      expect(plain((await store.blocks.refGet('a', 'head'))?.root)).toEqual(plain(sha(bytes('a'))));
    });

    it('lets exactly one of 50 concurrent CAS attempts from 0 win', async () => {
      const store = await fresh();
      const roots = Array.from({ length: 50 }, (_, i) => sha(bytes(`contender ${i}`)));
      const results = await Promise.allSettled(roots.map(async (root) => store.blocks.refCas('ns', 'race', 0, root)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as Mcp0Error).code).toBe('ECONFLICT');
      expect(plain((await store.blocks.refGet('ns', 'race'))?.root)).toEqual(plain(roots[won[0]!]));
    });

    it('under 50 racing writers, every version has exactly one winner and none is lost', async () => {
      const store = await fresh();
      const winners = new Map<number, Uint8Array>();
      let conflicts = 0;
      const writer = async (w: number): Promise<void> => {
        const root = sha(bytes(`writer ${w}`));
        for (;;) {
          const seen = (await store.blocks.refGet('ns', 'history'))?.version ?? 0;
          await new Promise((r) => setImmediate(r)); // let the others read the same version
          try {
            const version = await store.blocks.refCas('ns', 'history', seen, root);
            expect(winners.has(version)).toBe(false);
            winners.set(version, root);
            return;
          } catch (e) {
            expect((e as Mcp0Error).code).toBe('ECONFLICT');
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, w) => writer(w)));
      expect([...winners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set([...winners.values()].map((r) => Buffer.from(r).toString('hex'))).size).toBe(50);
      expect(conflicts).toBeGreaterThan(0);
      const ref = await store.blocks.refGet('ns', 'history');
      expect(ref?.version).toBe(50);
      expect(plain(ref?.root)).toEqual(plain(winners.get(50)));
    });

    it('refuses a bad expected version with EUSAGE', async () => {
      const store = await fresh();
      expect((await caught(() => store.blocks.refCas('ns', 'r', -1, sha(bytes('x'))))).code).toBe('EUSAGE');
      expect((await caught(() => store.blocks.refCas('ns', 'r', 1.5, sha(bytes('x'))))).code).toBe('EUSAGE');
    });
  });

  describe(`${name} store: kv`, () => {
    it('puts, gets, overwrites and deletes', async () => {
      const store = await fresh();
      expect(await store.kv.get('ns', 'k')).toBeUndefined();
      await store.kv.put('ns', 'k', bytes('v1'));
      expect(plain(await store.kv.get('ns', 'k'))).toEqual(plain(bytes('v1')));
      await store.kv.put('ns', 'k', bytes('v2'));
      expect(plain(await store.kv.get('ns', 'k'))).toEqual(plain(bytes('v2')));
      await store.kv.put('ns', '', new Uint8Array());
      expect(plain(await store.kv.get('ns', ''))).toEqual([]);
      expect(await store.kv.delete('ns', 'k')).toBe(true);
      expect(await store.kv.delete('ns', 'k')).toBe(false);
      expect(await store.kv.get('ns', 'k')).toBeUndefined();
    });

    it('keeps namespaces isolated, including ones that are prefixes of each other', async () => {
      const store = await fresh();
      await store.kv.put('a', 'bc', bytes('1'));
      await store.kv.put('ab', 'c', bytes('2'));
      expect(plain(await store.kv.get('a', 'bc'))).toEqual(plain(bytes('1')));
      expect(plain(await store.kv.get('ab', 'c'))).toEqual(plain(bytes('2')));
      expect((await store.kv.scan('a', '', 10)).map(([k]) => k)).toEqual(['bc']);
      expect((await store.kv.scan('ab', '', 10)).map(([k]) => k)).toEqual(['c']);
      expect(await store.kv.scan('abc', '', 10)).toEqual([]);
    });

    it('scans by prefix in byte order of UTF-8 keys, with limit and after', async () => {
      const store = await fresh();
      // U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80) in bytes, after it in UTF-16.
      const keys = ['n/b', 'n/a', 'n/\u{1F600}', 'n/\uFFFD', 'n/a/1', 'm/x', 'o', 'n', 'n0'];
      for (const k of keys) await store.kv.put('ns', k, bytes(`value of ${k}`));
      const all = await store.kv.scan('ns', 'n/', 100);
      expect(all.map(([k]) => k)).toEqual(['n/a', 'n/a/1', 'n/b', 'n/\uFFFD', 'n/\u{1F600}']);
      expect(plain(all[0]![1])).toEqual(plain(bytes('value of n/a')));
      expect((await store.kv.scan('ns', 'n/', 2)).map(([k]) => k)).toEqual(['n/a', 'n/a/1']);
      expect((await store.kv.scan('ns', 'n/', 2, 'n/a/1')).map(([k]) => k)).toEqual(['n/b', 'n/\uFFFD']);
      expect((await store.kv.scan('ns', 'n/', 10, 'n/aa')).map(([k]) => k)).toEqual(['n/b', 'n/\uFFFD', 'n/\u{1F600}']);
      expect((await store.kv.scan('ns', 'n/', 10, 'a')).map(([k]) => k)).toHaveLength(5);
      expect(await store.kv.scan('ns', 'n/', 10, 'z')).toEqual([]);
      expect(await store.kv.scan('ns', 'n/', 0)).toEqual([]);
      expect((await store.kv.scan('ns', '', 100)).map(([k]) => k)).toEqual(['m/x', 'n', 'n/a', 'n/a/1', 'n/b', 'n/\uFFFD', 'n/\u{1F600}', 'n0', 'o']);
    });

    it('pages through a large scan with after', async () => {
      const store = await fresh();
      for (let i = 0; i < 250; i++) await store.kv.put('ns', `p/${String(i).padStart(4, '0')}`, bytes(String(i)));
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.kv.scan('ns', 'p/', 64, after);
        if (page.length === 0) break;
        seen.push(...page.map(([k]) => k));
        after = page.at(-1)![0];
      }
      expect(seen).toHaveLength(250);
      expect(seen).toEqual([...seen].sort());
    });

    it('refuses oversized keys and values with ETOOBIG naming the limit', async () => {
      const store = await fresh();
      await store.kv.put('ns', 'k'.repeat(1024), bytes('fits'));
      let e = await caught(() => store.kv.put('ns', 'k'.repeat(1025), bytes('x')));
      expect(e.code).toBe('ETOOBIG');
      expect(e.details).toMatchObject({ limit: 1024, got: 1025 });
      e = await caught(() => store.kv.get('ns', 'é'.repeat(513))); // 1026 UTF-8 bytes
      expect(e.details).toMatchObject({ limit: 1024, got: 1026 });
      e = await caught(() => store.kv.put('ns', 'k', new Uint8Array((1 << 20) + 1)));
      expect(e.code).toBe('ETOOBIG');
      expect(e.details).toMatchObject({ limit: 1 << 20, got: (1 << 20) + 1 });
      await store.kv.put('ns', 'max', new Uint8Array(1 << 20));
      expect((await store.kv.get('ns', 'max'))?.length).toBe(1 << 20);
    });

    it('refuses keys that UTF-8 cannot carry (lone surrogates) with EINPUT', async () => {
      const store = await fresh();
      expect((await caught(() => store.kv.put('ns', 'bad\uD800', bytes('x')))).code).toBe('EINPUT');
    });
  });

  describe(`${name} store: lifecycle`, () => {
    it('refuses calls after close with ESTATE', async () => {
      const store = await open({});
      await store.close();
      await store.close();
      expect((await caught(() => store.kv.get('ns', 'k'))).code).toBe('ESTATE');
    });

    it('keeps blocks, refs and kv across close and reopen when durable', async (ctx) => {
      const store = await open({});
      if (!store.durable) {
        await store.close();
        ctx.skip();
        return;
      }
      const [id] = await store.blocks.put([bytes('durable block')]);
      await store.blocks.refCas('ns', 'head', 0, id!);
      await store.kv.put('ns', 'key', bytes('durable value'));
      await store.close();
      const again = await reopen(store);
      opened.push(again);
      expect(plain(await again.blocks.get(id!))).toEqual(plain(bytes('durable block')));
      expect(await again.blocks.refGet('ns', 'head')).toMatchObject({ version: 1 });
      expect(plain((await again.blocks.refGet('ns', 'head'))?.root)).toEqual(plain(id));
      expect(plain(await again.kv.get('ns', 'key'))).toEqual(plain(bytes('durable value')));
    });
  });
}
