/**
 * Agreements over MongoDB (FerretDB 1.24.2 started by the shared harness; skipped with a warning
 * when there is none): the plugin in the worker tier, because that store answers kv
 * asynchronously, enforcing a calls quota exactly under racing operations, and every count
 * surviving a restart over a reopened store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '@mcp0/sdk';
import { startMongo } from '../../../test/mongo-server.js';
import { agree, CONSUMER, doc, makeKernel, NAME, op, signed, T0 } from './helpers.js';

const mongo = await startMongo();
afterAll(async () => mongo?.stop());

/** A URI of a fresh database on the test server. */
function freshUri(uri: string): string {
  const [head, query] = uri.split('?') as [string, string | undefined];
  const hosts = /^mongodb(?:\+srv)?:\/\/[^/]*/i.exec(head)![0];
  return `${hosts}/mcp0_agreements_${randomUUID().replaceAll('-', '').slice(0, 16)}${query ? `?${query}` : ''}`;
}

describe.skipIf(!mongo)('agreements over MongoDB', () => {
  it('admits exactly the quota under racing operations and keeps every count across a restart', async () => {
    const uri = freshUri(mongo!.uri);
    const usage = async (k: Awaited<ReturnType<typeof makeKernel>>) =>
      ((await k.callValue(NAME, 'usage', { consumer: CONSUMER, window: T0 })) as { agreements: { admitted: number; calls: number }[] }).agreements[0];

    let store = await openStore(uri);
    const first = await makeKernel(store.kv, 'worker', true, 'worker');
    await agree(first, signed(doc({ quotas: { windowMs: 60_000, callsPerWindow: 5 } })));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => op(first, T0 + i)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(await usage(first)).toMatchObject({ admitted: 5, calls: 5 });
    await first.stop();
    await store.close();

    store = await openStore(uri);
    const second = await makeKernel(store.kv, 'worker', true, 'worker');
    try {
      expect(await usage(second)).toMatchObject({ admitted: 5, calls: 5 });
      expect(((await op(second, T0 + 100)) as { reason: string }).reason).toMatch(/^quota-exhausted: 5 of 5 calls/);
      expect((await op(second, T0 + 60_000)).ok).toBe(true);
    } finally {
      await second.stop();
      await store.close();
    }
  });
});
