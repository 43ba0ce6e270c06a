// The Store contract against MongoDB (a real wire-protocol server: FerretDB 1.24.2 + SQLite from
// test/mongo-server.ts, or MONGODB_URI), each store on a fresh database; plus what MongoDB adds:
// CAS across connections, typed errors for an unreachable server, and retries that stay correct.
import { createHash } from 'node:crypto';
import type { Mcp0Error } from '@mcp0/abi';
import { MongoClient, MongoNetworkError } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { rejection } from '../rejection.js';
import { startMongo, testDatabases, withDatabase, type MongoServer } from '../../../test/mongo-server.js';
import { storeContract } from '../../src/store/contract.test-support.js';
import { MongoStore, type MongoStoreOptions } from '../../src/store/mongo/index.js';
import { openStore } from '../../src/store/open.js';

const mongo = await startMongo();
const te = new TextEncoder();
const sha = (text: string): Uint8Array => new Uint8Array(createHash('sha256').update(text).digest());
const hexOf = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

/**
 * A store with network faults to inject: after `inject({ before, lostAcks })`, its next `before`
 * requests fail with a network error before reaching the server, and its next `lostAcks` writes are
 * applied but answer with a network error (a lost reply).
 */
async function faulty(uri: string, options: MongoStoreOptions = {}): Promise<{ store: MongoStore; inject(f: { before?: number; lostAcks?: number }): void }> {
  const left = { before: 0, lostAcks: 0 };
  const store = await MongoStore.connect(uri, {
    ...options,
    faults: {
      beforeRequest: () => {
        if (left.before > 0) {
          left.before--;
          throw new MongoNetworkError('connection lost before the request was sent (test hook)');
        }
      },
      afterWrite: () => {
        if (left.lostAcks > 0) {
          left.lostAcks--;
          throw new MongoNetworkError('connection lost after the write was applied (test hook)');
        }
      },
    },
  });
  return { store, inject: (f) => Object.assign(left, { before: f.before ?? 0, lostAcks: f.lostAcks ?? 0 }) };
}

// Needs no server: nothing listens on port 1.
describe('mongodb store: unreachable server', () => {
  it('reports an unreachable server as EUNAVAILABLE, quickly', async () => {
    let started = Date.now();
    let e = await rejection(() => openStore('mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300'));
    expect(e).toMatchObject({ code: 'EUNAVAILABLE', details: { op: 'connect', attempts: 1 } });
    expect(e.cause).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(3_000);
    started = Date.now();
    e = await rejection(() => MongoStore.connect('mongodb://127.0.0.1:1/x', { client: { serverSelectionTimeoutMS: 300 } }));
    expect(e.code).toBe('EUNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reports an SRV name that does not resolve as EUNAVAILABLE, and a non-mongodb scheme as EUSAGE', async () => {
    const e = await rejection(() => openStore('mongodb+srv://cluster.invalid/x'));
    expect(e).toMatchObject({ code: 'EUNAVAILABLE', details: { op: 'connect' } });
    await expect(openStore('mongo://127.0.0.1/x')).rejects.toMatchObject({
      code: 'EUSAGE',
      message: expect.stringContaining('write mongodb://host[:port]/database'),
      details: { supported: ['lmdb:', 'memory:', 'mongodb:', 'mongodb+srv:'] },
    });
  });
});

describe.skipIf(!mongo)('mongodb store', () => {
  const server = mongo as MongoServer;
  const databases = testDatabases(server, 'mcp0_test_');
  const freshUri = databases.fresh;

  afterAll(async () => {
    await databases.drop();
    await server.stop();
  });

  storeContract('mongodb', (faults) => openStore(freshUri(), { faults }));

  describe('mongodb store: layout and URIs', () => {
    it('is opened by openStore for mongodb:// URIs, with the database from the path (default mcp0)', async () => {
      const uri = freshUri();
      const store = await openStore(uri);
      expect(store).toBeInstanceOf(MongoStore);
      expect(store.durable).toBe(true);
      expect(store.uri).toBe(uri);
      expect((store as MongoStore).database).toBe(new URL(uri).pathname.slice(1));
      await store.close();
      const plain = await MongoStore.connect(withDatabase(server.uri, ''));
      expect(plain.database).toBe('mcp0');
      await plain.close();
      await expect(openStore(withDatabase(server.uri, 'bad.name'))).rejects.toMatchObject({ code: 'EUSAGE' });
    });

    it('keeps every ref version (append-only history) and kv keys as ordered hex _ids', async () => {
      const uri = freshUri();
      const store = await MongoStore.connect(uri);
      for (let v = 0; v < 3; v++) await store.blocks.refCas('agent', 'head', v, sha(`root ${v}`));
      await store.kv.put('agent', 'k', te.encode('v'));
      const client = new MongoClient(uri);
      try {
        const db = client.db(store.database);
        const versions = await db.collection('refs').find({ ns: 'agent', name: 'head' }).sort({ _id: 1 }).toArray();
        expect(versions.map((d) => d.v)).toEqual([1, 2, 3]);
        expect(versions.map((d) => hexOf(d.root.buffer))).toEqual([0, 1, 2].map((v) => hexOf(sha(`root ${v}`))));
        // _id: hex of [len(ns) as 2 bytes][ns][name], then '.', then the version in 16 digits.
        expect(versions[2]!._id).toBe(`0005${Buffer.from('agenthead').toString('hex')}.${'3'.padStart(16, '0')}`);
        const kv = await db.collection('kv').findOne({});
        expect(kv).toMatchObject({ _id: `0005${Buffer.from('agentk').toString('hex')}`, ns: 'agent', k: 'k' });
      } finally {
        await client.close();
        await store.close();
      }
    });
  });

  describe('mongodb store: the latest-version hint (refhints)', () => {
    it('refGet answers the latest version whether the hint is current, behind, far behind or gone', async () => {
      const uri = freshUri();
      const store = await MongoStore.connect(uri);
      const client = new MongoClient(uri);
      try {
        for (let v = 0; v < 12; v++) await store.blocks.refCas('agent', 'head', v, sha(`root ${v}`));
        const hints = client.db(store.database).collection<{ _id: string; v: number }>('refhints');
        const key = `0005${Buffer.from('agenthead').toString('hex')}`;
        expect(await hints.findOne({ _id: key })).toEqual({ _id: key, v: 12 });
        for (const lagging of [12, 11, 3, null]) {
          if (lagging === null) await hints.deleteOne({ _id: key });
          else await hints.updateOne({ _id: key }, { $set: { v: lagging } });
          expect(await store.blocks.refGet('agent', 'head')).toEqual({ version: 12, root: sha('root 11') });
        }
        // A CAS on a lagging hint still sees the true head, and raises the hint again.
        await expect(store.blocks.refCas('agent', 'head', 11, sha('late'))).rejects.toMatchObject({ code: 'ECONFLICT', details: { expected: 11, actual: 12 } });
        expect(await store.blocks.refCas('agent', 'head', 12, sha('root 12'))).toBe(13);
        expect(await hints.findOne({ _id: key })).toEqual({ _id: key, v: 13 });
      } finally {
        await client.close();
        await store.close();
      }
    });
  });

  describe('mongodb store: compare-and-swap across connections', () => {
    it('50 racing writers on 5 clients: every version has exactly one winner and none is lost', async () => {
      const uri = freshUri();
      const stores = await Promise.all(Array.from({ length: 5 }, () => MongoStore.connect(uri)));
      try {
        // Exactly one of 50 CAS attempts from 0 wins, whichever client it comes from.
        const first = await Promise.allSettled(
          stores.flatMap((s, i) => Array.from({ length: 10 }, (_, j) => s.blocks.refCas('ns', 'race', 0, sha(`c${i}.${j}`)))),
        );
        expect(first.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of first) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ECONFLICT', details: { expected: 0, actual: 1 } });

        const winners = new Map<number, string>();
        let conflicts = 0;
        const writer = async (w: number): Promise<void> => {
          const store = stores[w % stores.length]!;
          const root = sha(`writer ${w}`);
          for (;;) {
            const seen = (await store.blocks.refGet('ns', 'history'))?.version ?? 0;
            try {
              const version = await store.blocks.refCas('ns', 'history', seen, root);
              expect(winners.has(version)).toBe(false);
              winners.set(version, hexOf(root)!);
              return;
            } catch (e) {
              expect(e).toMatchObject({ code: 'ECONFLICT' });
              expect((e as Mcp0Error).details.actual).toBeGreaterThan(seen);
              conflicts++;
            }
          }
        };
        await Promise.all(Array.from({ length: 50 }, (_, w) => writer(w)));
        expect([...winners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(new Set(winners.values()).size).toBe(50);
        expect(conflicts).toBeGreaterThan(0);
        const ref = await stores[0]!.blocks.refGet('ns', 'history');
        expect(ref?.version).toBe(50);
        expect(hexOf(ref?.root)).toBe(winners.get(50));

        // The stored history agrees with what each winner was told.
        const client = new MongoClient(uri);
        try {
          const docs = await client.db(stores[0]!.database).collection('refs').find({ ns: 'ns', name: 'history' }).toArray();
          expect(docs).toHaveLength(50);
          for (const d of docs) expect(hexOf(d.root.buffer)).toBe(winners.get(d.v));
        } finally {
          await client.close();
        }
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('concurrent puts of one block and one new kv key from 5 clients all succeed', async () => {
      const uri = freshUri();
      const stores = await Promise.all(Array.from({ length: 5 }, () => MongoStore.connect(uri)));
      try {
        const block = te.encode('shared block');
        const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 5]!.blocks.put([block, te.encode(`own ${i}`)])));
        expect(new Set(ids.map(([id]) => hexOf(id))).size).toBe(1);
        expect(hexOf(await stores[1]!.blocks.get(ids[0]![0]!))).toBe(hexOf(block));
        const values = Array.from({ length: 40 }, (_, i) => te.encode(`value ${i}`));
        await Promise.all(values.map((v, i) => stores[i % 5]!.kv.put('ns', 'new key', v)));
        const got = hexOf(await stores[0]!.kv.get('ns', 'new key'));
        expect(values.map((v) => hexOf(v))).toContain(got);
        expect(await stores[2]!.kv.scan('ns', '', 10)).toHaveLength(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('a CAS that names a version ahead of the ref conflicts with the actual version', async () => {
      const store = await MongoStore.connect(freshUri());
      await store.blocks.refCas('ns', 'r', 0, sha('a'));
      expect(await rejection(() => store.blocks.refCas('ns', 'r', 5, sha('b')))).toMatchObject({ code: 'ECONFLICT', details: { expected: 5, actual: 1 } });
      expect(await store.blocks.refCas('ns', 'r', 1, sha('b'))).toBe(2);
      await store.close();
    });
  });

  describe('mongodb store: failures and retries', () => {
    // Needs a server of its own to stop: not with MONGODB_URI.
    it.skipIf(!!process.env.MONGODB_URI)('answers EUNAVAILABLE (not a hang) when the server goes away after connecting', async () => {
      const own = (await startMongo())!;
      const store = await MongoStore.connect(withDatabase(own.uri, 'gone', 'serverSelectionTimeoutMS=500'));
      try {
        await store.kv.put('ns', 'k', te.encode('v'));
        await own.stop();
        const started = Date.now();
        const e = await rejection(() => store.kv.get('ns', 'k'));
        expect(e).toMatchObject({ code: 'EUNAVAILABLE', details: { op: 'kv.get' } });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await store.close();
        await own.stop();
      }
    });

    it('a refCas whose reply is lost still reports its own win on retry (not ECONFLICT)', async () => {
      const { store, inject } = await faulty(freshUri());
      try {
        inject({ lostAcks: 1 }); // the insert of version 1 is applied, its reply lost
        expect(await store.blocks.refCas('ns', 'r', 0, sha('mine'))).toBe(1);
        expect(hexOf((await store.blocks.refGet('ns', 'r'))?.root)).toBe(hexOf(sha('mine')));
        inject({ lostAcks: 1 }); // the same on an existing ref
        expect(await store.blocks.refCas('ns', 'r', 1, sha('mine 2'))).toBe(2);
        expect((await store.blocks.refGet('ns', 'r'))?.version).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('a retried refCas that lost to another writer reports ECONFLICT, even with the same root', async () => {
      const uri = freshUri();
      const [a, { store: b, inject }] = await Promise.all([MongoStore.connect(uri), faulty(uri)]);
      try {
        expect(await a.blocks.refCas('ns', 'r', 0, sha('same'))).toBe(1);
        inject({ before: 1 }); // b's first attempt fails, its retry finds version 1 taken
        const e = await rejection(() => b.blocks.refCas('ns', 'r', 0, sha('same')));
        expect(e).toMatchObject({ code: 'ECONFLICT', details: { expected: 0, actual: 1 } });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('retries reads and put-if-absent writes, but not deletes, and gives up after the retry budget', async () => {
      const { store, inject } = await faulty(freshUri(), { retries: 2 });
      try {
        inject({ lostAcks: 1 });
        const [id] = await store.blocks.put([te.encode('block')]);
        expect(await store.blocks.has([id!])).toEqual([true]);
        inject({ lostAcks: 1 });
        await store.kv.put('ns', 'k', te.encode('v'));
        inject({ before: 2 });
        expect(hexOf(await store.kv.get('ns', 'k'))).toBe(hexOf(te.encode('v')));
        inject({ before: 3 });
        expect(await rejection(() => store.kv.get('ns', 'k'))).toMatchObject({ code: 'EUNAVAILABLE', details: { op: 'kv.get', attempts: 3 } });
        // A delete whose reply is lost is not repeated: its outcome is unknown, and says so.
        inject({ lostAcks: 1 });
        expect(await rejection(() => store.kv.delete('ns', 'k'))).toMatchObject({ code: 'EUNAVAILABLE', details: { outcome: 'unknown', attempts: 1 } });
        expect(await store.kv.get('ns', 'k')).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    describe('mongodb store: block cache', () => {
      it('serves repeated reads from its cache, never wrong data, and can run without one', async () => {
        const uri = freshUri();
        const cached = await MongoStore.connect(uri);
        const uncached = await MongoStore.connect(uri, { cacheBytes: 0 });
        const client = new MongoClient(uri);
        try {
          const block = te.encode('a block that will rot on the server');
          const [id] = await cached.blocks.put([block]);
          // Rot the stored bytes behind both stores' backs.
          await client
            .db(cached.database)
            .collection('blocks')
            .updateOne({ _id: hexOf(id) as never }, { $set: { data: te.encode('rotten') } });
          expect(hexOf(await cached.blocks.get(id!))).toBe(hexOf(block)); // the bytes it wrote: right ones
          expect(await rejection(() => uncached.blocks.get(id!))).toMatchObject({ code: 'EINTERNAL' }); // verified: refused
          // A delete through the store evicts, so the cache never answers for a block that is gone.
          expect(await cached.deleteBlocks([id!])).toBe(1);
          expect(await cached.blocks.get(id!)).toBeUndefined();
          await expect(MongoStore.connect(uri, { cacheBytes: -1 })).rejects.toMatchObject({ code: 'EUSAGE' });
        } finally {
          await client.close();
          await cached.close();
          await uncached.close();
        }
      });
    });
  });
});
