// agent.execute's options on a node. The cutoff: an operation still waiting for the agent's earlier
// ones when its deadline passes or its caller cancels never runs, and its caller hears of it then
// (deterministic: operations queued together have not begun when the same tick cancels one). And
// onEmit: the agent's emits during the operation, in order, and only its own.
import { afterEach, describe, expect, it } from 'vitest';
import type { Node } from '@mcp0/sdk';
import { signed } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

let node: Node | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe("an agent's operation with a cutoff", () => {
  it('is dropped from the agent queue when cancelled, and the others run', async () => {
    node = await startNode('memory:');
    const counter = await node.agents.spawn({ module: await signed('counter'), name: 'counter' });
    const controller = new AbortController();
    const ops = Array.from({ length: 10 }, (_, i) => counter.execute('increment', { by: 1 }, i === 7 ? { signal: controller.signal } : {}));
    controller.abort();
    const settled = await Promise.allSettled(ops);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(9);
    expect((settled[7] as PromiseRejectedResult).reason).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'cancelled' } });
    expect(await counter.execute('get', {})).toEqual({ value: 9 });
  });

  it('never runs once its deadline passed, and one in time runs', async () => {
    node = await startNode('memory:');
    const counter = await node.agents.spawn({ module: await signed('counter'), name: 'counter' });
    await expect(counter.execute('increment', { by: 5 }, { deadline: Date.now() - 1 })).rejects.toMatchObject({
      code: 'ETIMEOUT',
      details: { cutoff: 'deadline' },
    });
    expect(await counter.execute('increment', { by: 2 }, { deadline: Date.now() + 600_000 })).toEqual({ value: 2 });
    await expect(counter.execute('increment', {}, { deadline: 'soon' as unknown as number })).rejects.toMatchObject({ code: 'EUSAGE' });
    const metrics = node.metrics();
    expect(JSON.stringify(metrics)).toContain('ETIMEOUT');
  });

  it("passes the agent's emits during the operation to onEmit, in order, and no one else's", async () => {
    node = await startNode('memory:', { allowedAgentGrants: ['kv', 'clock', 'random', 'emit'] });
    const progress = await node.agents.spawn({ module: await signed('progress'), name: 'progress', grants: ['emit:progress'] });
    const other = await node.agents.spawn({ module: await signed('progress'), name: 'other', grants: ['emit:progress'] });
    const seen: unknown[] = [];
    const [mine] = await Promise.all([
      progress.execute('steps', { n: 3 }, { onEmit: (topic, data) => seen.push({ topic, data }) }),
      other.execute('steps', { n: 5 }),
    ]);
    expect(mine).toEqual({ steps: 3 });
    expect(seen).toEqual([1, 2, 3].map((step) => ({ topic: 'progress', data: { step, of: 3 } })));
    // A listener that throws does not fail the operation.
    const out = await progress.execute(
      'steps',
      { n: 2 },
      {
        onEmit: () => {
          throw new Error('listener bug');
        },
      },
    );
    expect(out).toEqual({ steps: 2 });
  });
});
