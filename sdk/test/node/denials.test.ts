// Denials through the SDK: a node whose pipeline has the agreements plugin admitting and metering,
// configured to accept one provider key. Each denial reaches the caller of `agent.execute` as the
// DeniedError the plugin gave (code EDENIED, the reason, retryAfterMs where there is one), is
// counted in the metrics and emitted as an event. The agreement's consumer is the key that signs
// the agents (the fixture publisher): spawn binds an agent only to an agreement of its signer.
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, DeniedError, generateKeyPair, newAgreement, signAgreement, type PrivateKey } from '@mcp0/abi';
import type { Node, OperationEvent } from '@mcp0/sdk';
import { publisher, signed } from '../../../test/fixtures.js';
import { rejection } from '../rejection.js';
import { agreementsDistribution, startNode } from './harness.js';

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

/** The agents' signer, and so the consumer of their agreements. */
const consumer = publisher;
/** The node operator's key: the one provider its agreements plugin accepts. */
const provider = generateKeyPair();

/** Registers a signed agreement `id` between `by` and the provider. */
async function registerAgreement(n: Node, id: string, by: PrivateKey, set: Record<string, string> = {}): Promise<void> {
  const doc = newAgreement('personal', { id, consumer: by.kid, provider: provider.kid, set: { 'permissions.intents': '["increment","get"]', ...set } });
  await n.roles.agreements.register({ document: signAgreement(signAgreement(doc, by, 'consumer'), provider, 'provider') });
}

/** A node with agreements admitting and observing before trace (trusting `agentKeys` as agent signers), and one agreement registered. */
async function nodeWithAgreement(set: Record<string, string>, agentKeys: PrivateKey[] = []): Promise<Node> {
  const n = await startNode('memory:', { distribution: await agreementsDistribution([provider.kid]), trust: agentKeys.map((k) => k.publicKey) });
  await registerAgreement(n, 'agr-sdk', consumer, set);
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
    const agents = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (name) => node!.agents.spawn({ module: await signed('counter'), name, agreement: 'agr-sdk' })),
    );
    const results = await Promise.allSettled(agents.flatMap((a) => [1, 2, 3].map(() => a.execute('increment', {}))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as DeniedError);
    expect(refused).toHaveLength(7);
    expect(refused.every((e) => e instanceof DeniedError && String(e.details.reason).startsWith('quota-exhausted'))).toBe(true);
  });

  it("refuses to spawn an agent signed by Bob under Alice's agreement: EPERM, no record left, nothing billed to Alice (issue 12, defect 4)", async () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    node = await nodeWithAgreement({}, [bob]);
    await registerAgreement(node, 'agr-alice', alice);
    const e = await rejection(async () => node!.agents.spawn({ module: await signed('counter', bob), name: 'bobs', agreement: 'agr-alice' }));
    expect(e).toBeInstanceOf(CallError);
    expect(e).toMatchObject({ code: 'EPERM' });
    expect((e as Error).message).toMatch(
      new RegExp(`^agreement agr-alice: expected the agent agent-[0-9a-f]{16} to act for the agreement's consumer ${alice.kid}, got ${bob.kid} `),
    );
    // No agent, no record, no module left loaded, and not one operation billed to Alice.
    expect(node.agents.list()).toEqual([]);
    expect(node.kernel.modules().filter((m) => m.manifest.kind === 'agent')).toEqual([]);
    const usage = (await node.callRole('agreements', 'usage', { consumer: alice.kid })) as {
      agreements: { id: string; admitted: number; calls: number; costUnits: number }[];
    };
    expect(usage.agreements).toMatchObject([{ id: 'agr-alice', admitted: 0, calls: 0, costUnits: 0 }]);
    expect(node.metrics().operations.total).toBe(0);
    // Bob's agent runs under an agreement of Bob's own.
    await registerAgreement(node, 'agr-bob', bob);
    const mine = await node.agents.spawn({ module: await signed('counter', bob), name: 'bobs', agreement: 'agr-bob' });
    expect(await mine.execute('increment', {})).toEqual({ value: 1 });
  });
});
