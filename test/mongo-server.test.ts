// What the MongoDB storage design relies on, checked against a real wire-protocol server (FerretDB
// v1.24.2 + SQLite by default, or MONGODB_URI). Deviations from MongoDB are in ./README.md.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Binary, MongoBulkWriteError, MongoClient, MongoServerError, type CommandStartedEvent, type Db } from 'mongodb';
import { startMongo, type MongoServer } from './mongo-server.js';

const mongo = await startMongo();

describe.skipIf(!mongo)('MongoDB wire protocol (FerretDB or MONGODB_URI)', () => {
  const server = mongo as MongoServer;
  let client: MongoClient;
  let db: Db;
  const commands: CommandStartedEvent[] = [];
  let isFerretdb = false;

  beforeAll(async () => {
    client = new MongoClient(server.uri, { monitorCommands: true });
    client.on('commandStarted', (e) => commands.push(e));
    await client.connect();
    db = client.db(`mcp0_test_${randomUUID().replaceAll('-', '')}`);
    // FerretDB claims a MongoDB version in buildInfo and adds ferretdbVersion.
    isFerretdb = 'ferretdbVersion' in (await client.db('admin').command({ buildInfo: 1 }));
  });

  afterAll(async () => {
    await db?.dropDatabase().catch(() => {});
    await client?.close();
    await server.stop();
  });

  it('answers ping and reports a server version', async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().buildInfo();
    expect(typeof info.version).toBe('string');
  });

  it('round-trips a Binary value byte for byte', async () => {
    const c = db.collection<{ _id: string; blob: Binary }>('blobs');
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    bytes[0] = 0; // embedded zero bytes must survive
    await c.insertOne({ _id: 'b1', blob: new Binary(bytes) });
    const got = await c.findOne({ _id: 'b1' });
    expect(got?.blob).toBeInstanceOf(Binary);
    expect(got!.blob.sub_type).toBe(Binary.SUBTYPE_DEFAULT);
    expect(Buffer.from(got!.blob.buffer).equals(Buffer.from(bytes))).toBe(true);

    // An empty Binary and a Binary as _id.
    const k = db.collection<{ _id: Binary; n: number }>('binary_ids');
    await k.insertOne({ _id: new Binary(Buffer.from([1, 2, 3])), n: 1 });
    const byId = await k.findOne({ _id: new Binary(Buffer.from([1, 2, 3])) });
    expect(byId?.n).toBe(1);
    await c.insertOne({ _id: 'empty', blob: new Binary(new Uint8Array(0)) });
    expect((await c.findOne({ _id: 'empty' }))!.blob.length()).toBe(0);
  });

  it('rejects a duplicate on a unique index with code 11000', async () => {
    const c = db.collection<{ key: string; v: number }>('unique');
    await c.createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
    await c.insertOne({ key: 'a', v: 1 });
    const err = await c.insertOne({ key: 'a', v: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(11000);
    expect(await c.countDocuments({ key: 'a' })).toBe(1);

    // Duplicate _id too, and a compound unique index.
    const err2 = await c.insertOne({ _id: (await c.findOne({ key: 'a' }))!._id, key: 'b', v: 3 }).catch((e: unknown) => e);
    expect((err2 as MongoServerError).code).toBe(11000);
    const cc = db.collection('compound');
    await cc.createIndex({ ns: 1, key: 1 }, { unique: true });
    await cc.insertMany([
      { ns: 'x', key: 'k' },
      { ns: 'y', key: 'k' },
    ]);
    const err3 = await cc.insertOne({ ns: 'x', key: 'k' }).catch((e: unknown) => e);
    expect((err3 as MongoServerError).code).toBe(11000);
  });

  it('does compare-and-swap with findOneAndUpdate on a version field (sequential)', async () => {
    const c = db.collection<{ _id: string; version: number; value: string }>('cas');
    await c.insertOne({ _id: 'doc', version: 1, value: 'v1' });

    const after = await c.findOneAndUpdate({ _id: 'doc', version: 1 }, { $set: { value: 'v2' }, $inc: { version: 1 } }, { returnDocument: 'after' });
    expect(after).toEqual({ _id: 'doc', version: 2, value: 'v2' });

    // The stale version matches nothing: null, and the document is unchanged.
    const stale = await c.findOneAndUpdate({ _id: 'doc', version: 1 }, { $set: { value: 'lost' }, $inc: { version: 1 } }, { returnDocument: 'after' });
    expect(stale).toBeNull();
    expect(await c.findOne({ _id: 'doc' })).toEqual({ _id: 'doc', version: 2, value: 'v2' });

    // With result metadata: lastErrorObject tells "matched nothing" apart from "matched".
    const meta = await c.findOneAndUpdate({ _id: 'doc', version: 1 }, { $set: { value: 'lost' } }, { returnDocument: 'after', includeResultMetadata: true });
    expect(meta.value).toBeNull();
    expect(meta.lastErrorObject?.n).toBe(0);
    expect(meta.lastErrorObject?.updatedExisting).toBe(false);

    // The same CAS with updateOne: matchedCount is 1 once, then 0.
    expect((await c.updateOne({ _id: 'doc', version: 2 }, { $set: { value: 'v3' }, $inc: { version: 1 } })).matchedCount).toBe(1);
    expect((await c.updateOne({ _id: 'doc', version: 2 }, { $set: { value: 'lost' }, $inc: { version: 1 } })).matchedCount).toBe(0);
  });

  // Real MongoDB applies a filtered update atomically per document. FerretDB 1.24 (SQLite) does not:
  // it reads the matching document, applies the update in Go, then writes it back by _id alone, so
  // two connections can both "win" the same CAS and updates are lost (50 concurrent $inc gave 5-32).
  // Each connection is served one command at a time, so with a single connection (maxPoolSize: 1)
  // the CAS is atomic again as far as this one client is concerned. See README.md.
  it('concurrent CAS on one version: exactly one winner (FerretDB: only through one connection)', async () => {
    const single = isFerretdb ? new MongoClient(server.uri, { maxPoolSize: 1 }) : client;
    try {
      const c = single.db(db.databaseName).collection<{ _id: number; version: number; winner?: number }>('cas_race');
      for (let t = 0; t < 10; t++) {
        await c.insertOne({ _id: t, version: 1 });
        const racers = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            c.findOneAndUpdate({ _id: t, version: 1 }, { $set: { winner: i }, $inc: { version: 1 } }, { returnDocument: 'after' }),
          ),
        );
        const winners = racers.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await c.findOne({ _id: t })).toEqual(winners[0]);
      }
      await c.insertOne({ _id: 1000, version: 0 });
      await Promise.all(Array.from({ length: 50 }, () => c.updateOne({ _id: 1000 }, { $inc: { version: 1 } })));
      expect((await c.findOne({ _id: 1000 }))!.version).toBe(50);
    } finally {
      if (single !== client) await single.close();
    }
  });

  it('concurrent inserts of one _id or unique key: exactly one winner, on any number of connections', async () => {
    // The atomic primitive that holds on FerretDB too: SQLite enforces the unique constraints.
    const c = db.collection<{ _id: string; key?: string; i: number }>('insert_race');
    await c.createIndex({ key: 1 }, { unique: true, sparse: true });
    for (let t = 0; t < 10; t++) {
      const byId = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => c.insertOne({ _id: `id${t}`, i })));
      expect(byId.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of byId) if (r.status === 'rejected') expect((r.reason as MongoServerError).code).toBe(11000);

      const byKey = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => c.insertOne({ _id: `k${t}.${i}`, key: `key${t}`, i })));
      expect(byKey.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of byKey) if (r.status === 'rejected') expect((r.reason as MongoServerError).code).toBe(11000);
    }
    expect(await c.countDocuments({})).toBe(20);
  });

  it('insertMany ordered:false with duplicates inserts the rest and reports each duplicate', async () => {
    const c = db.collection<{ _id: string; n: number }>('put_if_absent');
    await c.insertMany([
      { _id: 'k1', n: 0 },
      { _id: 'k3', n: 0 },
    ]);

    const batch = [
      { _id: 'k0', n: 1 },
      { _id: 'k1', n: 1 }, // exists
      { _id: 'k2', n: 1 },
      { _id: 'k3', n: 1 }, // exists
      { _id: 'k4', n: 1 },
      { _id: 'k4', n: 2 }, // duplicate within the batch
    ];
    const err = await c.insertMany(batch, { ordered: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bwe = err as MongoBulkWriteError;
    expect(bwe.code).toBe(11000);
    expect(bwe.insertedCount).toBe(3);
    const writeErrors = Array.isArray(bwe.writeErrors) ? bwe.writeErrors : [bwe.writeErrors];
    expect(writeErrors.map((w) => [w.index, w.code])).toEqual([
      [1, 11000],
      [3, 11000],
      [5, 11000],
    ]);
    // Every non-duplicate was inserted; the existing documents are untouched.
    const all = await c.find().sort({ _id: 1 }).toArray();
    expect(all).toEqual([
      { _id: 'k0', n: 1 },
      { _id: 'k1', n: 0 },
      { _id: 'k2', n: 1 },
      { _id: 'k3', n: 0 },
      { _id: 'k4', n: 1 },
    ]);

    // ordered:true stops at the first duplicate.
    const ordered = await c
      .insertMany(
        [
          { _id: 'o1', n: 1 },
          { _id: 'k0', n: 9 },
          { _id: 'o2', n: 1 },
        ],
        { ordered: true },
      )
      .catch((e: unknown) => e as MongoBulkWriteError);
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect((ordered as MongoBulkWriteError).insertedCount).toBe(1);
    expect(await c.countDocuments({ _id: { $in: ['o1', 'o2'] } })).toBe(1);
  });

  it('iterates a cursor of more than 101 documents with getMore', async () => {
    const c = db.collection<{ _id: number; pad: string }>('many');
    const N = 350;
    await c.insertMany(Array.from({ length: N }, (_, i) => ({ _id: i, pad: 'x'.repeat(100) })));
    commands.length = 0;
    const ids: number[] = [];
    for await (const d of c.find({}, { sort: { _id: 1 } })) ids.push(d._id);
    expect(ids).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(commands.filter((e) => e.commandName === 'getMore').length).toBeGreaterThanOrEqual(1);

    // An explicit small batch size means many getMores; a filter and a projection still apply.
    commands.length = 0;
    const odd = await c
      .find({ _id: { $mod: [2, 1] } }, { batchSize: 50, projection: { pad: 0 } })
      .sort({ _id: 1 })
      .toArray();
    expect(odd).toHaveLength(N / 2);
    expect(odd[0]).toEqual({ _id: 1 });
    expect(commands.filter((e) => e.commandName === 'getMore').length).toBeGreaterThanOrEqual(3);
  });

  it('deleteMany removes exactly the matching documents', async () => {
    const c = db.collection<{ _id: number; group: string }>('deletes');
    await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, group: i % 4 === 0 ? 'gone' : 'kept' })));
    const r = await c.deleteMany({ group: 'gone' });
    expect(r.deletedCount).toBe(5);
    expect(await c.countDocuments({})).toBe(15);
    expect(await c.countDocuments({ group: 'gone' })).toBe(0);
    expect((await c.deleteMany({ group: 'gone' })).deletedCount).toBe(0);
    expect((await c.deleteMany({})).deletedCount).toBe(15);
  });
});
