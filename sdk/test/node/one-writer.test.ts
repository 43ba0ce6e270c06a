// One writer per agent (issue 13, defect 4 and "also found"): a node runs an agent only while it
// holds the agent's lease, a second node on the same store refuses it (EBUSY, naming the holder's
// pid, host and expiry) and takes it over only after the holder's heartbeat expired; a node whose
// lease was taken over does not commit; and an operation commits only on the head version it
// began at. Clocks are injected wherever expiry matters.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '@mcp0/abi';
import { MemoryStore, OPERATION_WRITE_BUDGET, type Node, type NodeOptions } from '@mcp0/sdk';
import { signed } from '../../../test/fixtures.js';
import { rejection } from '../rejection.js';
import { startNode } from './harness.js';

const T = 1_800_000_000_000;
const fixed = (t: number) => () => t;
let nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.reverse()) await n.stop();
  nodes = [];
});
async function node(store: MemoryStore, options: Partial<NodeOptions> = {}): Promise<Node> {
  const n = await startNode(store, options);
  nodes.push(n);
  return n;
}
const value = async (n: Node, name: string) => ((await n.agents.get(name).execute('get')) as { value: number }).value;

describe('leases: one node runs an agent at a time', () => {
  it('a second node on the store refuses the agent (EBUSY, naming pid, host and expiry) until the first stops', async () => {
    const store = new MemoryStore();
    const a = await node(store, { lease: { now: fixed(T) } });
    const counter = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await counter.execute('increment', { by: 2 });

    const b = await node(store, { lease: { now: fixed(T + 1000) } });
    expect(b.agents.list()).toEqual([]);
    const [refused] = b.agents.refused();
    expect(refused).toMatchObject({
      id: counter.id,
      name: 'tally',
      code: 'EBUSY',
      holder: { pid: process.pid, host: hostname(), expires: T + 30_000, token: 1 },
    });
    expect(refused!.reason).toContain(`pid ${process.pid} on host ${hostname()}`);
    expect(refused!.reason).toContain(new Date(T + 30_000).toISOString());
    const e = await rejection(() => b.agents.get('tally'));
    expect(e.code).toBe('EBUSY');
    expect(e.message).toContain(`pid ${process.pid}`);
    // The first node runs on, undisturbed.
    await counter.execute('increment');
    expect(await value(a, 'tally')).toBe(3);

    // Stopping the first releases its leases: a node started after it runs the agent.
    await a.stop();
    const c = await node(store, { lease: { now: fixed(T + 2000) } });
    expect(c.agents.refused()).toEqual([]);
    await c.agents.get('tally').execute('increment');
    expect(await value(c, 'tally')).toBe(4);
    // Acquired at 1, released at 2, acquired again at 3: the token grows with every acquisition.
    expect(store.blocks.refGet('mcp0.node', `lease/${counter.id}`)?.version).toBe(3);
  });

  it("takes an agent over only once the holder's heartbeat expired; the old holder then refuses to run it", async () => {
    const store = new MemoryStore();
    const a = await node(store, { lease: { now: fixed(T), ttlMs: 10_000 } });
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await tally.execute('increment', { by: 5 });
    // Not yet expired: refused.
    const early = await node(store, { lease: { now: fixed(T + 9_999) } });
    expect(early.agents.refused()).toEqual([expect.objectContaining({ code: 'EBUSY' })]);
    // A's heartbeat (it stopped renewing: its clock stands still) expired: B takes the agent over.
    const b = await node(store, { lease: { now: fixed(T + 10_001) } });
    expect(b.agents.refused()).toEqual([]);
    await b.agents.get('tally').execute('increment');
    const lost = await rejection(() => tally.execute('increment'));
    expect(lost.code).toBe('EBUSY');
    expect(lost.message).toMatch(/this node no longer holds its lease: another node took it over: node [0-9a-f]{32}: pid \d+/);
    expect(a.agents.refused()).toEqual([expect.objectContaining({ id: tally.id, code: 'EBUSY' })]);
    expect(a.agents.list()).toEqual([]);
    // The handle keeps answering why: the agent is another node's now.
    await expect(tally.execute('get')).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('is not run by this node: another node took it over'),
    });
    expect(await value(b, 'tally')).toBe(6);
  });

  it('fencing: a node whose lease is taken over during an operation does not commit its writes', async () => {
    const store = new MemoryStore();
    let during: (() => void) | undefined;
    // The kernel reads the clock once per operation, after the operation began and before the agent runs.
    const clock = {
      now: () => {
        const f = during;
        during = undefined;
        f?.();
        return Date.now();
      },
    };
    const a = await node(store, { clock, lease: { now: fixed(T) } });
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await tally.execute('increment', { by: 7 });
    during = () => {
      // Another node's takeover, as it writes it: the lease moves to another holder.
      const lease = store.blocks.refGet('mcp0.node', `lease/${tally.id}`)!;
      store.blocks.refCas('mcp0.node', `lease/${tally.id}`, lease.version, new Uint8Array(randomBytes(16)));
    };
    await expect(tally.execute('increment')).rejects.toMatchObject({ code: 'EBUSY', message: expect.stringContaining('no longer holds its lease') });
    expect(a.agents.refused()).toEqual([expect.objectContaining({ id: tally.id, code: 'EBUSY' })]);
    // The write was not committed: the state is what it was (read by a node that takes the agent
    // over, the fake holder having no heartbeat).
    const after = await node(store, { lease: { now: fixed(T + 1_000_000) } });
    expect(await value(after, 'tally')).toBe(7);
  });

  it('a holder that died on this machine is not waited out; one on another host is', async () => {
    const store = new MemoryStore();
    const a = await node(store, { lease: { now: fixed(T) } });
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await tally.execute('increment', { by: 7 });
    // Make a's heartbeat say it is a process that has exited (as after kill -9), here or elsewhere.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const [[key, bytes]] = store.kv.scan('mcp0.node', 'node/', 10) as [[string, Uint8Array]];
    const beat = decodeCbor(bytes!) as Record<string, unknown>;
    store.kv.put('mcp0.node', key!, encodeCbor({ ...beat, pid: dead, host: 'another-host' }));
    const elsewhere = await node(store, { lease: { now: fixed(T + 1000) } });
    expect(elsewhere.agents.refused()).toEqual([
      expect.objectContaining({ code: 'EBUSY', holder: expect.objectContaining({ pid: dead, host: 'another-host' }) }),
    ]);

    store.kv.put('mcp0.node', key!, encodeCbor({ ...beat, pid: dead }));
    const b = await node(store, { lease: { now: fixed(T + 2000) } });
    expect(b.agents.refused()).toEqual([]);
    expect(await value(b, 'tally')).toBe(7);
  });

  it('a lease that changes hands at every swap is busy (EBUSY), not an error that stops the node', async () => {
    const store = new MemoryStore();
    const a = await node(store);
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await a.stop();
    // Other nodes take and give the lease back between each read and swap of this one (seen in
    // CI: two processes starting and stopping nodes in a loop on one LMDB store).
    const refCas = store.blocks.refCas;
    let swaps = 0;
    store.blocks.refCas = (namespace, name, expect, root) => {
      if (name === `lease/${tally.id}`) {
        swaps++;
        const now = store.blocks.refGet(namespace, name)!;
        refCas(namespace, name, refCas(namespace, name, now.version, new Uint8Array(randomBytes(16))), new Uint8Array(16));
      }
      return refCas(namespace, name, expect, root);
    };
    const b = await node(store);
    expect(swaps).toBeGreaterThan(1);
    const [refused] = b.agents.refused();
    expect(refused).toMatchObject({
      id: tally.id,
      code: 'EBUSY',
      reason: expect.stringMatching(/its lease changed hands at every attempt to take it \(lease token \d+\): try again/),
    });
    expect((await rejection(() => b.agents.get('tally'))).code).toBe('EBUSY');
    // Once the lease is left alone the agent runs again, its state intact.
    store.blocks.refCas = refCas;
    const c = await node(store);
    expect(await value(c, 'tally')).toBe(0);
  });

  it('terminate releases the lease; stop releases every lease and removes the heartbeat', async () => {
    const store = new MemoryStore();
    const a = await node(store);
    const one = await a.agents.spawn({ module: await signed('counter'), name: 'one' });
    const two = await a.agents.spawn({ module: await signed('counter'), name: 'two' });
    await one.terminate();
    expect(store.blocks.refGet('mcp0.node', `lease/${one.id}`)).toMatchObject({ version: 2, root: new Uint8Array(16) });
    expect(store.kv.scan('mcp0.node', 'node/', 10)).toHaveLength(1);
    await a.stop();
    expect(store.blocks.refGet('mcp0.node', `lease/${two.id}`)).toMatchObject({ version: 2, root: new Uint8Array(16) });
    expect(store.kv.scan('mcp0.node', 'node/', 10)).toEqual([]);
  });
});

describe('an operation commits only on the head version it began at (issue 13, defect 4)', () => {
  it('another writer changed the state during the operation: ECONFLICT, and its state stands (no lost update)', async () => {
    const store = new MemoryStore();
    let during: (() => void) | undefined;
    const clock = {
      now: () => {
        const f = during;
        during = undefined;
        f?.();
        return Date.now();
      },
    };
    const a = await node(store, { clock });
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await tally.execute('increment'); // 1
    const first = store.blocks.refGet('mcp0.storage', `head/${tally.id}`)!;
    await tally.execute('increment'); // 2
    during = () => {
      // Another writer moves the head to other content (here: back to the commit of value 1).
      const head = store.blocks.refGet('mcp0.storage', `head/${tally.id}`)!;
      store.blocks.refCas('mcp0.storage', `head/${tally.id}`, head.version, first.root);
    };
    const e = await rejection(() => tally.execute('increment'));
    expect(e).toMatchObject({ code: 'ECONFLICT', details: { expected: 2, found: 3 } });
    // Before: the writes were applied again on the moved head (value 2 over the other writer's 1).
    expect(await value(a, 'tally')).toBe(1);
    expect(a.metrics().operations).toMatchObject({ error: 1 });
  });

  it('a new version of the same tree (gc retention moved the head) is no conflict', async () => {
    const store = new MemoryStore();
    let during: (() => void) | undefined;
    const clock = {
      now: () => {
        const f = during;
        during = undefined;
        f?.();
        return Date.now();
      },
    };
    const a = await node(store, { clock });
    const tally = await a.agents.spawn({ module: await signed('counter'), name: 'tally' });
    await tally.execute('increment', { by: 3 });
    during = () => {
      const head = store.blocks.refGet('mcp0.storage', `head/${tally.id}`)!;
      store.blocks.refCas('mcp0.storage', `head/${tally.id}`, head.version, head.root);
    };
    expect(await tally.execute('increment')).toEqual({ value: 4 });
    expect(await value(a, 'tally')).toBe(4);
  });
});

describe('the per-operation write budget at kv_put (issue 13, defect 8)', () => {
  it('refuses the kv_put that passes it (ETOOBIG) while the agent runs, not at commit; nothing is written', async () => {
    const store = new MemoryStore();
    const a = await node(store, { agentCeilings: { timeoutMs: 5_000 } });
    const faulty = await a.agents.spawn({ module: await signed('faulty'), name: 'faulty' });
    const size = 64 << 10;
    const fits = Math.floor(OPERATION_WRITE_BUDGET.bytes / (size + 16 + 4));
    expect(await faulty.execute('write_many', { prefix: 'k', count: 10, size })).toBe(10);
    const root = await faulty.stateRoot();
    const e = await rejection(() => faulty.execute('write_many', { prefix: 'big', count: fits + 10, size }));
    expect(e.code).toBe('ETOOBIG');
    expect(e.message).toMatch(
      new RegExp(
        `would bring the operation's writes to \\d+ bytes \\(the budget is ${OPERATION_WRITE_BUDGET.bytes}\\); it already holds \\d+ bytes in ${fits} keys`,
      ),
    );
    expect(await faulty.stateRoot()).toBe(root);
  });
});
