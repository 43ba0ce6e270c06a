// Self-healing when an agent's worker thread dies (here: killed from outside the node, through the
// Worker object the kernel created, which the mock records): the node restores the agent's last
// snapshot and reloads it by itself, and says so in a `healed` event.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent, Node } from '@mcp0/sdk';
import { signed } from '../../../test/fixtures.js';
import { workers } from '../../../test/worker-recorder.js';
import { startNode } from './harness.js';

vi.mock('node:worker_threads', async (original) => (await import('../../../test/worker-recorder.js')).recording(await original()));

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

const nextEvent = (n: Node, type: AgentEvent['type']) => new Promise<AgentEvent>((resolve) => n.on('agent', (e) => e.type === type && resolve(e)));

describe('an agent whose worker thread dies', () => {
  it('is restored from its last snapshot and reloaded, with a healed event', async () => {
    node = await startNode('memory:');
    // The test distribution's plugins run inline: the agent's is the only worker.
    const before = workers.length;
    const counter = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    expect(workers.length).toBe(before + 1);
    await counter.execute('increment', { by: 3 });
    const snap = await counter.snapshot();
    await counter.execute('increment', { by: 4 });

    const healed = nextEvent(node, 'healed');
    await workers.at(-1)!.terminate();
    const event = await healed;
    expect(event).toMatchObject({ agent: counter.id, name: 'c', snapshot: snap.id });
    expect(event.reason).toContain('worker thread died');
    expect(await counter.execute('get')).toEqual({ value: 3 });
    expect(await counter.execute('increment', {})).toEqual({ value: 4 });
    expect(node.metrics().heals).toBe(1);
  });

  it('heals in the middle of an operation too: the operation fails typed and changes nothing', async () => {
    node = await startNode('memory:');
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    await f.execute('write', { key: '/k', value: 'kept' });
    await f.snapshot();
    const healed = nextEvent(node, 'healed');
    // `spin` loops until its timeout: plenty of time to kill the thread under it.
    const spinning = f.execute('spin').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await workers.at(-1)!.terminate();
    expect(await spinning).toMatchObject({ code: 'ETRAP', details: { workerDied: true } });
    await healed;
    expect(await f.execute('read', { key: '/k' })).toBe('kept');
  });

  it('keeps a paused agent paused after healing it', async () => {
    node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'p' });
    await c.execute('increment', {});
    await c.snapshot();
    await c.pause();
    const healed = nextEvent(node, 'healed');
    await workers.at(-1)!.terminate();
    await healed;
    expect(c.state).toBe('paused');
    await expect(c.execute('get')).rejects.toMatchObject({ code: 'ESTATE' });
    await c.resume();
    expect(await c.execute('get')).toEqual({ value: 1 });
  });
});
