// Denials through the SDK: a node whose pipeline has the agreements plugin admitting and metering.
// Each denial reaches the caller of `agent.execute` as the DeniedError the plugin gave (code EDENIED,
// the reason, retryAfterMs where there is one), is counted in the metrics and emitted as an event.
import { afterEach, describe, expect, it } from 'vitest';
import { DeniedError, generateKeyPair, newAgreement, parseGrant, signAgreement, type CborValue } from '@mcp0/abi';
import type { Node, OperationEvent } from '@mcp0/sdk';
import { signed } from '../../../test/fixtures.js';
import { rejection } from '../rejection.js';
import { startNode, testDistribution } from './harness.js';

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

const consumer = generateKeyPair();
const provider = generateKeyPair();

/** A node with agreements admitting and observing before trace, and one agreement registered. */
async function nodeWithAgreement(set: Record<string, string>): Promise<Node> {
  const base = await testDistribution();
  const n = await startNode('memory:', {
    distribution: {
      ...base,
      plugins: [{ name: 'mcp0.agreements', bytes: await signed('agreements'), grants: ['kv:agreements/', 'crypto', 'clock'].map(parseGrant), isolation: 'inline' }, ...base.plugins],
      pipeline: { admit: ['mcp0.agreements'], observe: ['mcp0.agreements', 'mcp0.trace'] },
    },
  });
  const doc = newAgreement('personal', { id: 'agr-sdk', consumer: consumer.kid, provider: provider.kid, set: { 'permissions.intents': '["increment","get"]', ...set } });
  await n.callRole('agreements', 'register', { document: signAgreement(signAgreement(doc, consumer, 'consumer'), provider, 'provider') as unknown as CborValue });
  return n;
}

/** The DeniedError an operation is refused with; fails the test on anything else. */
async function denial(op: () => Promise<unknown>): Promise<DeniedError> {
  const e = await rejection(op);
  expect(e).toBeInstanceOf(DeniedError);
  return e as DeniedError;
}

describe('denials through the SDK', () => {
  it('an agent spawned without an agreement is denied: no-agreement', async () => {
    node = await nodeWithAgreement({});
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    const e = await denial(() => c.execute('increment', {}));
    expect(e.code).toBe('EDENIED');
    expect(e.details).toMatchObject({ by: 'mcp0.agreements' });
    expect(String(e.details.reason)).toMatch(/^no-agreement: /);
  });

  it('an intent the agreement does not permit is denied: not-permitted', async () => {
    node = await nodeWithAgreement({});
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c', agreement: 'agr-sdk' });
    expect(await c.execute('increment', {})).toEqual({ value: 1 });
    const e = await denial(() => c.execute('reset', {}));
    expect(String(e.details.reason)).toMatch(/^not-permitted: /);
    expect(await c.execute('get')).toEqual({ value: 1 });
  });

  it('the call quota: exactly the quota runs, the next is denied with a retry-after, nothing it would have written lands', async () => {
    node = await nodeWithAgreement({ 'quotas.callsPerWindow': '3', 'quotas.windowMs': '3600000' });
    const events: OperationEvent[] = [];
    node.on('operation', (e) => events.push(e));
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c', agreement: 'agr-sdk' });
    for (let i = 1; i <= 3; i++) expect(await c.execute('increment', {})).toEqual({ value: i });
    const root = await c.stateRoot();
    const e = await denial(() => c.execute('increment', {}));
    expect(String(e.details.reason)).toMatch(/^quota-exhausted: 3 of 3 calls/);
    expect(e.details.retryAfterMs).toBeGreaterThan(0);
    expect(e.details.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(await c.stateRoot()).toBe(root);
    expect(events.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'denied']);
    expect(events[3]).toMatchObject({ code: 'EDENIED', reason: expect.stringMatching(/^quota-exhausted/) });
    expect(node.metrics()).toMatchObject({ operations: { total: 4, ok: 3 }, denials: { total: 1, by: { 'mcp0.agreements': 1 } } });
  });

  it('the call quota holds exactly when the operations of several agents race for its last units', async () => {
    node = await nodeWithAgreement({ 'quotas.callsPerWindow': '5', 'quotas.windowMs': '3600000' });
    const agents = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => node!.agents.spawn({ module: await signed('counter'), name, agreement: 'agr-sdk' })));
    const results = await Promise.allSettled(agents.flatMap((a) => [1, 2, 3].map(() => a.execute('increment', {}))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as DeniedError);
    expect(refused).toHaveLength(7);
    expect(refused.every((e) => e instanceof DeniedError && String(e.details.reason).startsWith('quota-exhausted'))).toBe(true);
  });
});
