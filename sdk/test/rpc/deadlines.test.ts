// Deadlines end to end (issue 15): 10,000 calls over loopback, each with a random deadline of 1–50
// ms, 32 in flight. Every call settles, as an answer or ETIMEOUT and nothing else; none settles
// later than its deadline plus a bound (generous, so only a call the node kept working on, or one
// nobody answered, breaks it, never a slow machine); every increment the counter shows ran for a
// call (no lost or doubled work); and the node serves normally afterwards, nothing left in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '@mcp0/sdk';
import type { Client, NodeServer } from '@mcp0/sdk/rpc';
import { Mcp0Error } from '@mcp0/abi';
import { buildPackages } from '../../../test/built.js';
import { connectClient, servedNode } from './node.js';

const CALLS = 10_000;
const IN_FLIGHT = 32;
/** How late after its deadline a call may settle: scheduling on a loaded machine, not the node's work. */
const BOUND_MS = 2_000;

let node: Node;
let server: NodeServer;
let client: Client;

beforeAll(async () => {
  buildPackages();
  // Rates high enough that no call here is refused for its rate: deadlines are what is tested.
  ({ node, server } = await servedNode({}, { rate: { perSecond: 1_000_000, burst: 1_000_000 } }));
  client = await connectClient(server);
}, 120_000);
afterAll(async () => {
  client?.close();
  await server?.close();
  await node?.stop();
});

describe('10,000 calls with random 1–50 ms deadlines', () => {
  it('settle by their deadline plus a bound, as answers or ETIMEOUT, and lose no work', async () => {
    const counter = client.agents.get('counter');
    const outcomes = new Map<string, number>();
    const unexpected: string[] = [];
    const late: { timeoutMs: number; lateByMs: number; outcome: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        next++;
        const timeoutMs = 1 + Math.floor(Math.random() * 50);
        const deadline = Date.now() + timeoutMs;
        let outcome: string;
        try {
          await counter.execute('increment', { by: 1 }, { timeoutMs });
          outcome = 'ok';
        } catch (e) {
          outcome = e instanceof Mcp0Error ? e.code : `not typed: ${String(e)}`;
          if (outcome !== 'ETIMEOUT') unexpected.push(String((e as Error).message));
        }
        const lateByMs = Date.now() - deadline;
        if (lateByMs > BOUND_MS) late.push({ timeoutMs, lateByMs, outcome });
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(CALLS);
    expect(unexpected.slice(0, 5)).toEqual([]);
    expect([...outcomes.keys()].filter((k) => k !== 'ok' && k !== 'ETIMEOUT')).toEqual([]);
    expect(late).toEqual([]);
    await expect.poll(() => server.inFlight, { timeout: 120_000, interval: 20 }).toBe(0);
    // Each answered call ran once; a call that timed out ran at most once (it may have begun in time).
    const { value } = (await counter.execute('get', {}, { timeoutMs: 120_000 })) as { value: number };
    const ok = outcomes.get('ok') ?? 0;
    expect(value).toBeGreaterThanOrEqual(ok);
    expect(value).toBeLessThanOrEqual(CALLS);
    expect(await counter.execute('increment', { by: 1 }, { timeoutMs: 120_000 })).toEqual({ value: value + 1 });
  }, 600_000);
});
