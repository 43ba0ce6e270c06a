// Graceful drain: health turns NOT_SERVING, calls in flight when the drain begins are answered,
// calls after it are refused with UNAVAILABLE (EBUSY), none is lost or run twice, and the server closes.
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '@mcp0/sdk';
import type { NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { connectClient, servedNode } from './node.js';

let node: Node;
let server: NodeServer;

beforeAll(async () => {
  buildPackages();
  ({ node, server } = await servedNode({ drainNoticeMs: 3_000 }, { rate: { perSecond: 100_000, burst: 100_000 } }));
}, 120_000);
afterAll(async () => {
  await server?.close();
  await node?.stop();
});

/** The health status the node reports for `service`, by grpc.health.v1. */
function healthOf(service: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto/health/v1/health.proto');
  const Health = (loadPackageDefinition(loadSync(file, { enums: String })) as any).grpc.health.v1.Health;
  const client = new Health(`127.0.0.1:${server.port}`, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.Check({ service }, { deadline: new Date(Date.now() + 5_000) }, (e: Error | null, r: { status: string }) => {
      client.close();
      e ? reject(e) : resolve(r.status);
    }),
  );
}

describe('drain', () => {
  it('answers calls in flight, refuses new ones, and says NOT_SERVING meanwhile', async () => {
    expect(await healthOf('mcp0.v1.Node')).toBe('SERVING');
    expect(await healthOf('')).toBe('SERVING');
    const client = await connectClient(server);
    try {
      const start = (await client.agents.get('counter').execute('get')) as { value: number };
      // Settled as they come (a refusal is an answer here, not an unhandled rejection).
      const calls = Promise.allSettled(Array.from({ length: 60 }, () => client.agents.get('counter').execute('increment')));
      // Drain while calls are in flight (the agent runs them one at a time, so many wait their turn).
      for (const until = Date.now() + 60_000; server.inFlight === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 1));
      expect(server.inFlight).toBeGreaterThan(0);
      const drained = server.drain(60_000);
      expect(await healthOf('mcp0.v1.Node')).toBe('NOT_SERVING');
      // A call made once the drain began is refused, retryably, and runs nothing.
      const late = await client.agents
        .get('counter')
        .execute('increment')
        .catch((e: unknown) => e);
      expect(late).toMatchObject({ code: 'EBUSY', details: { status: 14 } });
      const settled = await calls;
      await drained;
      const answered = settled.filter((r) => r.status === 'fulfilled').map((r) => (r.value as { value: number }).value);
      const refused = settled.filter((r) => r.status === 'rejected').map((r) => r.reason as { code?: string; details?: { status?: number } });
      expect(answered.length).toBeGreaterThan(0);
      for (const e of refused) expect(e).toMatchObject({ code: 'EBUSY', details: { status: 14 } });
      // Every answered call ran exactly once, and nothing refused ran: the counter moved by exactly as many.
      expect((await node.agents.get('counter').execute('get')) as { value: number }).toEqual({ value: start.value + answered.length });
      expect([...answered].sort((x, y) => x - y)).toEqual(Array.from({ length: answered.length }, (_, i) => start.value + 1 + i));
    } finally {
      client.close();
    }
  });
});
