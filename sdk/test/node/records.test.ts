// Stored agent records are hostile input: whoever can write the store can plant one. A node brings
// an agent back only with a publisher it trusts now and grants within its policy; anything else
// stays stored, is reported in agents.refused(), and the node serves the rest.
import { describe, expect, it } from 'vitest';
import { encodeCbor, generateKeyPair, toPublicJwk, type CborValue } from '@mcp0/abi';
import { AgentRecords, MemoryStore, NODE_NAMESPACE, type AgentEvent, type AgentRecord } from '@mcp0/sdk';
import { signed, trusted } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

async function plant(store: MemoryStore, module: Uint8Array, fields: Partial<AgentRecord> & { publisher: string }): Promise<AgentRecord> {
  const records = new AgentRecords(store.kv, store.blocks);
  const record: AgentRecord = {
    id: `agent-${Math.random().toString(16).slice(2, 10)}`,
    name: 'planted',
    module: { name: 'mcp0.counter', version: '0.1.0', blocks: await records.putModule(module) },
    grants: ['kv', 'clock', 'random'],
    config: {},
    agreement: null,
    state: 'running',
    created: 1,
    snapshots: [],
    ...fields,
  };
  await records.save(record);
  return record;
}

const stored = async (store: MemoryStore, id: string) => store.kv.get(NODE_NAMESPACE, `agent/${id}`);

describe('stored agent records', () => {
  it('refuses a planted record whose module an untrusted key signed, whatever it grants itself', async () => {
    const store = new MemoryStore();
    const attacker = generateKeyPair();
    const planted = await plant(store, await signed('counter', attacker), {
      publisher: JSON.stringify(toPublicJwk(attacker.publicKey)),
      grants: ['kv', 'net:*', 'call:mcp0.agreements'],
    });
    const events: AgentEvent[] = [];
    const node = await startNode(store);
    node.on('agent', (e) => events.push(e));
    expect(node.agents.list()).toEqual([]);
    expect(node.agents.refused()).toEqual([
      { id: planted.id, name: 'planted', code: 'EUNTRUSTED', reason: expect.stringContaining(`signed by ${attacker.kid}, which this node does not trust`) },
    ]);
    expect(node.kernel.modules().some((m) => m.name === planted.id)).toBe(false);
    // The node serves, the name stays taken, and the record is kept as it was.
    const ok = await node.agents.spawn({ module: await signed('counter'), name: 'real' });
    expect(await ok.execute('increment', { by: 1 })).toEqual({ value: 1 });
    await expect(node.agents.spawn({ module: await signed('counter'), name: 'planted' })).rejects.toMatchObject({ code: 'EUSAGE' });
    await node.stop();
    expect(await stored(store, planted.id)).toBeDefined();
  });

  it('refuses a record that names a trusted publisher for a module another key signed', async () => {
    const store = new MemoryStore();
    const attacker = generateKeyPair();
    const planted = await plant(store, await signed('counter', attacker), { publisher: JSON.stringify(toPublicJwk(trusted)) });
    const node = await startNode(store);
    expect(node.agents.refused()).toEqual([expect.objectContaining({ id: planted.id, code: 'EUNTRUSTED', reason: expect.stringContaining('does not load') })]);
    await node.stop();
  });

  it("refuses a record whose grants go beyond the node's policy, and brings it back once the operator allows them", async () => {
    const store = new MemoryStore();
    const planted = await plant(store, await signed('counter'), {
      publisher: JSON.stringify(toPublicJwk(trusted)),
      grants: ['kv', 'clock', 'random', 'call:mcp0.storage'],
    });
    let node = await startNode(store);
    expect(node.agents.refused()).toEqual([
      expect.objectContaining({
        id: planted.id,
        code: 'EPERM',
        reason: expect.stringContaining('call:mcp0.storage, beyond what this node allows agents (allowed: kv, clock, random)'),
      }),
    ]);
    await expect(async () => node.agents.get(planted.id)).rejects.toMatchObject({ code: 'EPERM' });
    await node.stop();
    node = await startNode(store, { allowedAgentGrants: ['kv', 'clock', 'random', 'call:mcp0.storage'] });
    expect(node.agents.refused()).toEqual([]);
    expect(await node.agents.get('planted').execute('increment', { by: 2 })).toEqual({ value: 2 });
    await node.stop();
  });

  it('refuses at spawn a grant beyond the policy, naming it and what is allowed', async () => {
    const node = await startNode(new MemoryStore());
    await expect(node.agents.spawn({ module: await signed('counter'), name: 'c', grants: ['kv', 'clock', 'net:*'] })).rejects.toMatchObject({
      code: 'EPERM',
      message: 'net:* is beyond what this node allows agents (allowed: kv, clock, random)',
    });
    // A narrower grant than an allowed one is within the policy.
    await expect(node.agents.spawn({ module: await signed('counter'), name: 'c', grants: ['kv:/counter', 'clock', 'random'] })).resolves.toBeDefined();
    await node.stop();
  });

  it('refuses a key lookup that answers with another key than the one asked for', async () => {
    const store = new MemoryStore();
    const own = generateKeyPair();
    const planted = await plant(store, await signed('counter', own), { publisher: JSON.stringify(toPublicJwk(own.publicKey)) });
    const node = await startNode(store, { publisherKey: () => generateKeyPair().publicKey });
    expect(node.agents.refused()).toEqual([expect.objectContaining({ id: planted.id, code: 'EUNTRUSTED' })]);
    await node.stop();
  });

  it.each<[string, (r: AgentRecord) => CborValue | Uint8Array]>([
    ['not CBOR', () => Uint8Array.of(0xff, 0x00)],
    ['not a map', () => [1, 2]],
    ["an id other than its key's", (r) => ({ ...(r as unknown as Record<string, CborValue>), id: 'agent-else' })],
    ['grants that are not texts', (r) => ({ ...(r as unknown as Record<string, CborValue>), grants: [1] })],
    ['a state that is not running or paused', (r) => ({ ...(r as unknown as Record<string, CborValue>), state: 'admin' })],
    [
      'module blocks that are not block ids',
      (r) => ({ ...(r as unknown as Record<string, CborValue>), module: { name: 'x', version: '1', blocks: ['../../etc'] } }),
    ],
    ['a publisher that is not a JWK', (r) => ({ ...(r as unknown as Record<string, CborValue>), publisher: '{"kty":"RSA"}' })],
    ['a grant that does not parse', (r) => ({ ...(r as unknown as Record<string, CborValue>), grants: ['root'] })],
  ])('refuses a record with %s and serves the others', async (_what, corrupt) => {
    const store = new MemoryStore();
    const good = await plant(store, await signed('counter'), { publisher: JSON.stringify(toPublicJwk(trusted)), name: 'good' });
    const bad = await plant(store, await signed('counter'), { publisher: JSON.stringify(toPublicJwk(trusted)), name: 'bad' });
    const value = corrupt(bad);
    const bytes = value instanceof Uint8Array ? value : encodeCbor(value);
    await store.kv.put(NODE_NAMESPACE, `agent/${bad.id}`, bytes);
    const node = await startNode(store);
    expect(node.agents.list().map((a) => a.id)).toEqual([good.id]);
    expect(node.agents.refused()).toEqual([expect.objectContaining({ id: bad.id, code: expect.stringMatching(/^(EINPUT|EUSAGE)$/) })]);
    expect(await node.agents.get('good').execute('increment', { by: 3 })).toEqual({ value: 3 });
    await node.stop();
    expect(new Uint8Array((await stored(store, bad.id))!)).toEqual(new Uint8Array(bytes));
  });

  it('refuses a record whose module blocks are gone', async () => {
    const store = new MemoryStore();
    const planted = await plant(store, await signed('counter'), { publisher: JSON.stringify(toPublicJwk(trusted)) });
    await store.kv.put(
      NODE_NAMESPACE,
      `agent/${planted.id}`,
      encodeCbor({ ...(planted as unknown as Record<string, CborValue>), module: { ...planted.module, blocks: ['00'.repeat(32)] } }),
    );
    const node = await startNode(store);
    expect(node.agents.refused()).toEqual([expect.objectContaining({ id: planted.id, code: 'ENOTFOUND' })]);
    await node.stop();
  });
});
