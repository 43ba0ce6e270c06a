// MongoSyncStore (the synchronous bridge to MongoDB): the whole Store contract on FerretDB 1.24.2,
// plus what the bridge adds: synchronous answers, blocks served from the cache without a round
// trip, eviction on delete, and typed errors for an unreachable server. The I/O thread runs the
// BUILT store (dist/), which the file brings up to date first (test/built.ts).
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../../test/built.js';
import { startMongo, type MongoServer } from '../../../test/mongo-server.js';
import { MongoSyncStore } from '../../src/store/bridge.js';
import { storeContract } from '../../src/store/contract.test-support.js';

const mongo = await startMongo();
// The I/O thread runs the built store.
beforeAll(() => buildPackages());
const te = new TextEncoder();
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

describe('mongodb sync bridge: unreachable server', () => {
  it('reports an unreachable server as EUNAVAILABLE when opening', async () => {
    await expect(MongoSyncStore.open('mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=300')).rejects.toMatchObject({ code: 'EUNAVAILABLE' });
    await expect(MongoSyncStore.open('mongodb://127.0.0.1:1/x', { cacheBytes: -1 })).rejects.toMatchObject({ code: 'EUSAGE' });
  });
});

describe.skipIf(!mongo)('mongodb sync bridge', () => {
  const server = mongo as MongoServer;
  const freshUri = (): string => {
    const [head, query] = server.uri.split('?') as [string, string | undefined];
    const hosts = /^mongodb(?:\+srv)?:\/\/[^/]*/i.exec(head)![0];
    return `${hosts}/mcp0_bridge_${randomUUID().replaceAll('-', '').slice(0, 16)}${query ? `?${query}` : ''}`;
  };
  afterAll(async () => server.stop());

  storeContract('mongodb sync bridge', (faults) => MongoSyncStore.open(freshUri(), { faults }));

  it('answers synchronously, reads cached blocks without a round trip, and forgets deleted ones', async () => {
    const store = await MongoSyncStore.open(freshUri());
    try {
      const block = te.encode('cached block');
      const ids = store.blocks.put([block]);
      expect(ids).toBeInstanceOf(Array); // not a promise
      const trips = store.stats.roundTrips;
      expect(store.blocks.get(ids[0]!)).toEqual(block);
      expect(store.stats.roundTrips).toBe(trips); // from the cache
      expect(store.blocks.refCas('ns', 'r', 0, ids[0]!)).toBe(1);
      expect(store.blocks.refGet('ns', 'r')).toEqual({ root: ids[0], version: 1 });
      expect(store.deleteBlocks(ids)).toBe(1);
      expect(store.blocks.get(ids[0]!)).toBeUndefined(); // asked the server, not the cache
      expect(store.blocks.get(sha(te.encode('never stored')))).toBeUndefined();
      expect(() => store.blocks.refCas('ns', 'r', 0, ids[0]!)).toThrow(expect.objectContaining({ code: 'ECONFLICT' }));
    } finally {
      await store.close();
    }
    expect(() => store.blocks.get(new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'ESTATE' }));
  });
});
