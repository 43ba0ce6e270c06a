// Rate limits over gRPC, exact at their boundary under racing clients (issue 15): three clients on
// their own connections, one caller key, fire 30 calls at once at a bucket of burst 10. The node's
// clock stands still, so no token comes back meanwhile: exactly 10 calls run, the other 20 are
// refused RESOURCE_EXHAUSTED with the exact wait for the next token, and the counter moved by 10.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_STATUS, Mcp0Error } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import type { Client, NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { connectClient, servedNode } from './node.js';

const BURST = 10;
let node: Node;
let server: NodeServer;
const clients: Client[] = [];

beforeAll(async () => {
  buildPackages();
  // Still, and ahead of the agreement's start (made while the node starts): a skew wide enough for
  // the clients' envelopes, signed by the real clock.
  const now = Date.now() + 60_000;
  ({ node, server } = await servedNode({}, { rate: { perSecond: 1, burst: BURST }, skewMs: 600_000 }, { clock: { now: () => now } }));
  for (let i = 0; i < 3; i++) clients.push(await connectClient(server));
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  await node?.stop();
});

describe('token buckets under racing clients', () => {
  it('let exactly the burst through, and refuse the rest with the exact wait', async () => {
    const settled = await Promise.allSettled(clients.flatMap((c) => Array.from({ length: 10 }, () => c.agents.get('counter').execute('increment', { by: 1 }))));
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Mcp0Error);
    expect(ok.length, String(settled.find((s) => s.status === 'rejected')?.reason)).toBe(BURST);
    expect(refused).toHaveLength(30 - BURST);
    for (const e of refused) {
      expect(e).toBeInstanceOf(Mcp0Error);
      expect(e).toMatchObject({ code: 'EDENIED', details: { status: GRPC_STATUS.RESOURCE_EXHAUSTED, retryAfterMs: 1000 } });
    }
    expect(await node.agents.get('counter').execute('get')).toEqual({ value: BURST });
  }, 300_000);
});
