// End to end through the SDK: spawn, execute through the pipeline, snapshot, recover, pause,
// terminate, atomic operations, typed errors, events and metrics, on the memory store.
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, WASM_HEADER, appendManifest, concatBytes, parseSections, readManifest, signModule } from '@mcp0/abi';
import { DEFAULT_AGENT_CEILINGS, type AgentEvent, type Node } from '@mcp0/sdk';
import { publisher, signed, unsigned } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe('agents on a node', () => {
  it("spawn → execute → snapshot → more executes → recover gives the snapshot's state", async () => {
    node = await startNode('memory:');
    const events: AgentEvent[] = [];
    node.on('agent', (e) => events.push(e));
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    expect(notes.id).toMatch(/^agent-[0-9a-f]{16}$/);
    for (const text of ['buy milk', 'call Ada', 'Milk again']) await notes.execute('remember', { text, tags: ['t'] });
    const snap = await notes.snapshot();
    expect(snap.id).toBe(await notes.stateRoot());
    await notes.execute('remember', { text: 'after the snapshot' });
    await notes.execute('forget', { id: 1 });
    expect(((await notes.execute('list', {})) as { notes: unknown[] }).notes).toHaveLength(3);
    expect(await notes.stateRoot()).not.toBe(snap.id);

    await notes.recover(snap.id);
    expect(await notes.stateRoot()).toBe(snap.id);
    const listed = (await notes.execute('list', {})) as { notes: { id: number; text: string }[] };
    expect(listed.notes.map((n) => n.text)).toEqual(['buy milk', 'call Ada', 'Milk again']);
    const recalled = (await notes.execute('recall', { query: 'milk' })) as { notes: { text: string }[] };
    expect(recalled.notes.map((n) => n.text)).toEqual(['Milk again', 'buy milk']);
    expect(events.map((e) => e.type)).toEqual(['spawned', 'snapshot', 'recovered']);
    expect(notes.snapshots.map((s) => s.id)).toEqual([snap.id]);
  });

  it('keeps agents apart: each sees only its own tree', async () => {
    node = await startNode('memory:');
    const a = await node.agents.spawn({ module: await signed('counter'), name: 'a' });
    const b = await node.agents.spawn({ module: await signed('counter'), name: 'b' });
    await a.execute('increment', { by: 5 });
    expect(await b.execute('increment', {})).toEqual({ value: 1 });
    expect(await a.execute('get')).toEqual({ value: 5 });
    expect(node.agents.list().map((x) => x.name)).toEqual(['a', 'b']);
    expect(node.agents.get('b').id).toBe(b.id);
  });

  it("applies an operation's writes together: a failed or trapped operation changes nothing", async () => {
    node = await startNode('memory:');
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    await f.execute('write', { key: '/a', value: 'kept' });
    const before = await f.stateRoot();
    await expect(f.execute('write_then_fail', { key: '/b' })).rejects.toMatchObject({ code: 'EGUEST' });
    await expect(f.execute('write_then_trap', { key: '/c' })).rejects.toMatchObject({ code: 'ETRAP' });
    expect(await f.stateRoot()).toBe(before);
    expect(await f.execute('read', { key: '/b' })).toBeNull();
    expect(await f.execute('read', { key: '/a' })).toBe('kept');
    // One successful operation makes one version, however many keys it wrote (note + next id).
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    const history = async () => (await node!.roles.storage.history({ agent: notes.id, limit: 100 })).roots.length;
    await notes.execute('remember', { text: 'one' });
    const versions = await history();
    await notes.execute('remember', { text: 'two' });
    expect(await history()).toBe(versions + 1);
  });

  it('passes options.cause to the kernel: the trace records it; one not of 32 bytes is EUSAGE and writes nothing', async () => {
    node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    const before = await c.stateRoot();
    for (const cause of [new Uint8Array(31), new Uint8Array(33)]) {
      await expect(c.execute('increment', { by: 1 }, { cause })).rejects.toMatchObject({
        code: 'EUSAGE',
        message: `operation cause: expected 32 bytes (a SHA-256), got ${cause.length} bytes`,
      });
    }
    expect(await c.stateRoot()).toBe(before);
    expect((await node.roles.trace.head()).seq).toBeNull(); // refused before any hook: nothing traced
    const cause = new Uint8Array(32).fill(1);
    expect(await c.execute('increment', { by: 2 }, { cause })).toEqual({ value: 2 });
    await c.execute('increment', { by: 3 });
    // The trace recorded the first with its cause (a version 2 event), the second without.
    const [first, second] = await node.roles.trace.range({ from: 0, to: 1 });
    expect(first!.event).toMatchObject({ intent: 'increment', cause });
    expect(second!.event).not.toHaveProperty('cause');
  });

  it('surfaces limits as typed errors: timeout and memory', async () => {
    node = await startNode('memory:');
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    await expect(f.execute('spin')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    // The guest thread reports its memory with the trap, so a failed memory.grow is EMEMORY.
    const e = await f.execute('grow').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CallError);
    expect((e as CallError).code).toBe('EMEMORY');
    await f.execute('write', { key: '/k', value: 'v' });
    expect(await f.execute('read', { key: '/k' })).toBe('v');
  });

  it('heals an agent that keeps trapping: restores its last snapshot and reloads it', async () => {
    node = await startNode('memory:', { restart: { failureThreshold: 2 } });
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    await f.execute('write', { key: '/k', value: 'good' });
    const snap = await f.snapshot();
    await f.execute('write', { key: '/k', value: 'after' });
    const healed = new Promise<AgentEvent>((resolve) => node!.on('agent', (e) => e.type === 'healed' && resolve(e)));
    await f.execute('write_then_trap', { key: '/x' }).catch(() => undefined);
    await f.execute('write_then_trap', { key: '/x' }).catch(() => undefined);
    const event = await healed;
    expect(event).toMatchObject({ agent: f.id, name: 'f', snapshot: snap.id });
    expect(event.reason).toContain('ETRAP');
    expect(await f.execute('read', { key: '/k' })).toBe('good');
    expect(node.metrics().heals).toBe(1);
  });

  it('pauses and resumes: a paused agent refuses operations with ESTATE', async () => {
    node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await c.pause();
    expect(c.state).toBe('paused');
    const e = await c.execute('increment').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CallError);
    expect((e as CallError).code).toBe('ESTATE');
    await c.resume();
    expect(await c.execute('increment')).toEqual({ value: 1 });
  });

  it('terminates: the agent is gone and its name is free again', async () => {
    node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await c.terminate();
    expect(c.state).toBe('terminated');
    expect(node.agents.list()).toEqual([]);
    await expect(c.execute('get')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await node.agents.spawn({ module: await signed('counter'), name: 'c' });
  });

  it('refuses what is not an agent, a duplicate name, an unknown export and a bad snapshot id', async () => {
    node = await startNode('memory:');
    await expect(node.agents.spawn({ module: await signed('hello'), name: 'h', grants: ['kv:hello/', 'clock', 'random'] })).rejects.toMatchObject({
      code: 'EUSAGE',
    });
    expect(node.agents.list()).toEqual([]);
    expect(Object.keys(node.kernel.metrics())).not.toContain('h');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await expect(node.agents.spawn({ module: await signed('counter'), name: 'c' })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(c.execute('nope')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(c.recover('zz')).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(c.recover('00'.repeat(32))).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const untrusted = await import('@mcp0/abi').then(({ generateKeyPair, signModule }) =>
      import('../../../test/fixtures.js').then(async (f) => signModule(await f.unsigned('counter'), generateKeyPair())),
    );
    await expect(node.agents.spawn({ module: untrusted, name: 'u' })).rejects.toMatchObject({ code: 'EUNTRUSTED' });
  });

  it('surfaces capability errors unchanged: ECAPABILITY at spawn, EPERM at run time', async () => {
    node = await startNode('memory:');
    await expect(node.agents.spawn({ module: await signed('counter'), name: 'c', grants: [] })).rejects.toMatchObject({ code: 'ECAPABILITY' });
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    const e = await f.execute('tick').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CallError);
    expect((e as CallError).code).toBe('EPERM');
    expect((e as CallError).message).toContain('clock');
    await f.execute('write', { key: '/still', value: 'serving' });
  });

  it('counts operations, errors and agents, as JSON and as Prometheus text', async () => {
    node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await c.execute('increment');
    await c.execute('increment');
    await c.execute('increment', { by: 'x' }).catch(() => undefined);
    const m = node.metrics();
    expect(m.operations).toEqual({ total: 3, ok: 2, error: 1 });
    expect(m.errors).toEqual({ EINPUT: 1 });
    expect(m.agents).toEqual({ running: 1, paused: 0 });
    // The counter's input schema (ABI 1.3) refused {by: "x"} before any hook: an error of the
    // node's, but neither the agent nor the trace ran for it.
    expect(m.modules[c.id]!.calls).toBe(2);
    expect(m.modules['mcp0.trace']!.calls).toBe(2);
    const text = await node.metricsText();
    expect(text).toContain(`mcp0_operations_total{agent="${c.id}",status="ok"} 2`);
    expect(text).toContain(`mcp0_operation_errors_total{agent="${c.id}",code="EINPUT"} 1`);
    expect(text).toContain('mcp0_agents{state="running"} 1');
    expect(text).toMatch(/mcp0_process_resident_memory_bytes \d+/);
  });
});

describe("an agent's limits", () => {
  it("are the node's ceilings when its manifest asks for more (64k pages, 600 s)", async () => {
    node = await startNode('memory:');
    const plain = await unsigned('counter');
    const bare = concatBytes(
      WASM_HEADER,
      ...parseSections(plain)
        .filter((s) => s.name !== 'mcp0.manifest')
        .map((s) => plain.subarray(s.start, s.end)),
    );
    const greedy = signModule(appendManifest(bare, { ...readManifest(plain), limits: { memoryPages: 65_536, timeoutMs: 600_000 } }), publisher);
    const agent = await node.agents.spawn({ module: greedy, name: 'greedy' });
    const module = node.kernel.module(agent.id);
    expect([module.verified.memoryPages, module.options.timeoutMs]).toEqual([DEFAULT_AGENT_CEILINGS.memoryPages, DEFAULT_AGENT_CEILINGS.timeoutMs]);
    expect(await agent.execute('increment', { by: 2 })).toEqual({ value: 2 });
  });
});
