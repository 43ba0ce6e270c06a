// A node on a `mongodb://` URI (issue 13, defect 2): the distribution's inline plugins (storage and
// trace here, as in the standard distribution) run over the synchronous bridge the node opens, so
// agents spawn, run, snapshot, recover and come back after a restart. Skipped without FerretDB or
// MONGODB_URI (test/mongo-server.md).
import { afterAll, describe, expect, it } from 'vitest';
import { MongoStore, MongoSyncStore } from '@mcp0/sdk/mongo';
import { openStore } from '@mcp0/sdk';
import { signed } from '../../../test/fixtures.js';
import { startMongo, testDatabases, type MongoServer } from '../../../test/mongo-server.js';
import { rejection } from '../rejection.js';
import { startNode } from './harness.js';

const mongo = await startMongo();

describe.skipIf(!mongo)('a node on mongodb://', () => {
  const server = mongo as MongoServer;
  const databases = testDatabases(server, 'mcp0_node_');
  const freshUri = databases.fresh;
  afterAll(async () => {
    await databases.drop();
    await server.stop();
  });

  it('runs inline plugins over MongoSyncStore: spawn, execute, snapshot, recover, restart', async () => {
    const uri = freshUri();
    let node = await startNode(uri);
    try {
      expect(node.store).toBeInstanceOf(MongoSyncStore);
      const tally = await node.agents.spawn({ module: await signed('counter'), name: 'tally' });
      expect(await tally.execute('increment', { by: 2 })).toEqual({ value: 2 });
      const snap = await tally.snapshot();
      await tally.execute('increment');
      // The trace plugin (inline, kv on MongoDB) observed every operation.
      expect(await node.callRole('trace', 'head', {})).toMatchObject({ seq: 1 });
      await tally.recover(snap.id);
      expect(await tally.execute('get')).toEqual({ value: 2 });
    } finally {
      await node.stop();
    }
    node = await startNode(uri);
    try {
      expect(node.agents.list().map((a) => a.name)).toEqual(['tally']);
      expect(await node.agents.get('tally').execute('increment')).toEqual({ value: 3 });
    } finally {
      await node.stop();
    }
  });

  it('refuses an open asynchronous MongoStore when a plugin runs inline (EUSAGE), and a missing store when told not to create one', async () => {
    const uri = freshUri();
    const store = await MongoStore.connect(uri);
    try {
      const e = await rejection(() => startNode(store));
      expect(e.code).toBe('EUSAGE');
      expect(e.message).toContain('openStore(uri, { synchronous: true })');
    } finally {
      await store.close();
    }
    const missing = await rejection(() => startNode(freshUri(), { createStore: false }));
    expect(missing).toMatchObject({ code: 'ENOTFOUND', message: expect.stringMatching(/^no store at mongodb:\/\/.*holds no store/) });
    await expect(openStore(freshUri(), { create: false, synchronous: true })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // Once written, it exists.
    const node = await startNode(uri);
    await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await node.stop();
    const again = await startNode(uri, { createStore: false });
    expect(again.agents.list()).toHaveLength(1);
    await again.stop();
  });
});
