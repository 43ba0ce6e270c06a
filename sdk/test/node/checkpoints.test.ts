// Signed trace checkpoints: the Checkpointer's rules (sign when the head moved, never two at once,
// a timer that reports rather than throws, a last one at stop) with a fake head and a captured
// timer, then a real node (storage + trace plugins, memory store): node.checkpoint(), the stored
// log, the last checkpoint at stop, and no checkpoints without an operator key. No test waits for
// a real timer.
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, generateKeyPair, Mcp0Error, StatementError } from '@mcp0/abi';
import {
  CHECKPOINT_PREFIX,
  CHECKPOINT_TYPE,
  CheckpointLog,
  LATEST_CHECKPOINT_KEY,
  MemoryStore,
  NODE_NAMESPACE,
  checkpointKey,
  verifyCheckpoint,
  type Node,
  type TraceCheckpoint,
  type TraceHead,
} from '@mcp0/sdk';
import { Checkpointer, type Schedule } from '../../src/node/checkpoints.js';
import { signed } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

const operator = generateKeyPair();

/** A timer the test fires by hand. */
function manualSchedule(): { schedule: Schedule; fire: () => void; cancelled: () => boolean; intervalMs: () => number | undefined } {
  let tick: (() => void) | undefined;
  let ms: number | undefined;
  let cancelled = false;
  return {
    schedule: (fn, interval) => {
      tick = fn;
      ms = interval;
      return () => (cancelled = true);
    },
    fire: () => tick?.(),
    cancelled: () => cancelled,
    intervalMs: () => ms,
  };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('Checkpointer', () => {
  it('signs when the head moved since the last checkpoint, stores each by seq and the newest', async () => {
    const store = new MemoryStore();
    let head: TraceHead | undefined;
    const signedEvents: TraceCheckpoint[] = [];
    const cp = new Checkpointer({
      key: operator,
      kv: store.kv,
      head: async () => head,
      now: () => 1_765_000_000_000,
      onCheckpoint: (c) => signedEvents.push(c),
    });
    expect(await cp.signIfMoved()).toBeUndefined(); // an empty chain: nothing to sign
    await expect(cp.sign()).rejects.toMatchObject({ code: 'ENOTFOUND', details: { reason: 'empty-trace' } });

    head = { seq: 3, head: '12345' };
    const first = await cp.signIfMoved();
    expect(first).toMatchObject({ type: CHECKPOINT_TYPE, seq: 3, head: '12345', time: 1_765_000_000_000, signer: operator.kid });
    expect(verifyCheckpoint(first, [operator.publicKey]).checkpoint).toEqual(first);
    expect(await cp.signIfMoved()).toBeUndefined(); // the head did not move

    head = { seq: 7, head: '999' };
    const second = await cp.signIfMoved();
    expect(second?.seq).toBe(7);
    expect(signedEvents.map((c) => c.seq)).toEqual([3, 7]);

    const log = new CheckpointLog(store.kv);
    expect(await log.get(3)).toEqual(first);
    expect(await log.latest()).toEqual(second);
    expect(await log.after(3)).toEqual(second);
    expect((await store.kv.scan(NODE_NAMESPACE, CHECKPOINT_PREFIX, 10)).map(([k]) => k)).toEqual([checkpointKey(3), checkpointKey(7)]);
    const all: number[] = [];
    for await (const c of log.all()) all.push(c.seq);
    expect(all).toEqual([3, 7]);
    // The stored bytes are the JSON the node signed.
    expect(JSON.parse(new TextDecoder().decode(await store.kv.get(NODE_NAMESPACE, checkpointKey(7))))).toEqual(second);

    // sign() signs even when nothing moved: a fresher time for the same seq replaces the stored one.
    const again = await new Checkpointer({ key: operator, kv: store.kv, head: async () => head, now: () => 1_765_000_060_000 }).sign();
    expect(again).toMatchObject({ seq: 7, time: 1_765_000_060_000 });
    expect(await log.get(7)).toEqual(again);
  });

  it('a restarted checkpointer reads the newest stored one and does not re-sign an unmoved head', async () => {
    const store = new MemoryStore();
    const head = { seq: 5, head: '55' };
    await new Checkpointer({ key: operator, kv: store.kv, head: async () => head }).sign();
    const restarted = new Checkpointer({ key: operator, kv: store.kv, head: async () => head });
    expect(await restarted.signIfMoved()).toBeUndefined();
  });

  it('the timer signs on a tick, skips a tick while a signing runs, reports failures as events, stops with a last one', async () => {
    const store = new MemoryStore();
    const timer = manualSchedule();
    const gate = deferred<TraceHead>();
    let read: () => Promise<TraceHead> = () => gate.promise;
    let reads = 0;
    const errors: Error[] = [];
    const made: TraceCheckpoint[] = [];
    const cp = new Checkpointer({
      key: operator,
      kv: store.kv,
      intervalMs: 5_000,
      schedule: timer.schedule,
      head: () => {
        reads++;
        return read();
      },
      onCheckpoint: (c) => made.push(c),
      onError: (e) => errors.push(e),
    });
    cp.start();
    expect(timer.intervalMs()).toBe(5_000);
    timer.fire();
    timer.fire(); // while the first is still reading the head: skipped, not queued
    await until(() => reads === 1, 'the head read');
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(1);
    gate.resolve({ seq: 1, head: '11' });
    await until(() => made.length === 1, 'the first checkpoint');
    expect(made[0]).toMatchObject({ seq: 1, head: '11' });

    // A failing head read goes to onError; nothing is thrown, and the next tick tries again.
    read = () => Promise.reject(new Mcp0Error('EUNAVAILABLE', 'the trace plugin is gone'));
    timer.fire();
    await until(() => errors.length === 1, 'the error event');
    expect(errors[0]).toMatchObject({ code: 'EUNAVAILABLE' });

    read = async () => ({ seq: 4, head: '44' });
    const last = await cp.stop();
    expect(timer.cancelled()).toBe(true);
    expect(last).toMatchObject({ seq: 4, head: '44' });
    expect((await new CheckpointLog(store.kv).latest())?.seq).toBe(4);
    timer.fire(); // after stop: nothing
    expect(made.map((c) => c.seq)).toEqual([1, 4]);
    expect(errors).toHaveLength(1);
  });

  it('stop reports a failed last checkpoint instead of throwing', async () => {
    const errors: Error[] = [];
    const cp = new Checkpointer({
      key: operator,
      kv: new MemoryStore().kv,
      schedule: manualSchedule().schedule,
      head: () => Promise.reject(new Error('no head')),
      onError: (e) => errors.push(e),
    });
    await expect(cp.stop()).resolves.toBeUndefined();
    expect(errors.map((e) => e.message)).toEqual(['no head']);
  });

  it('refuses an interval that is not a positive integer', () => {
    for (const intervalMs of [0, -1, 1.5, Number.NaN]) {
      expect(() => new Checkpointer({ key: operator, kv: new MemoryStore().kv, head: async () => undefined, intervalMs })).toThrow(
        /checkpointIntervalMs: expected a positive integer/,
      );
    }
  });

  it('a stored checkpoint that does not read is ESTATE naming its key', async () => {
    const store = new MemoryStore();
    await store.kv.put(NODE_NAMESPACE, LATEST_CHECKPOINT_KEY, new TextEncoder().encode('{"type":"mcp0.trace-checkpoint/1","seq":-1}'));
    await expect(new CheckpointLog(store.kv).latest()).rejects.toMatchObject({
      code: 'ESTATE',
      message: expect.stringMatching(/mcp0\.node checkpoint-latest is not a stored checkpoint: .*seq: expected an integer/),
    });
  });
});

describe('a node with an operator key', () => {
  let node: Node | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  async function work(n: Node, ops: number): Promise<void> {
    const counter = n.agents.list().find((a) => a.name === 'c') ?? (await n.agents.spawn({ module: await signed('counter'), name: 'c' }));
    for (let i = 0; i < ops; i++) await counter.execute('increment', {});
  }
  const headOf = async (n: Node) => n.roles.trace.head();

  it('node.checkpoint() signs the trace head, stores it and emits it; stop() signs a last one when the head moved', async () => {
    const store = new MemoryStore();
    node = await startNode(store, { operatorKey: operator });
    const events: TraceCheckpoint[] = [];
    node.on('checkpoint', (c) => events.push(c));
    await expect(node.checkpoint()).rejects.toMatchObject({ code: 'ENOTFOUND' }); // nothing traced yet

    await work(node, 3);
    const h = await headOf(node);
    const cp = await node.checkpoint();
    expect(cp).toMatchObject({ type: CHECKPOINT_TYPE, seq: h.seq, head: h.head, signer: operator.kid });
    expect(verifyCheckpoint(cp, [operator.publicKey]).checkpoint.seq).toBe(2);
    expect(() => verifyCheckpoint(cp, [generateKeyPair().publicKey])).toThrow(StatementError);
    expect(await new CheckpointLog(store.kv).latest()).toEqual(cp);
    expect(events).toEqual([cp]);

    await work(node, 2);
    const moved = await headOf(node);
    await node.stop();
    node = undefined;
    const last = await new CheckpointLog(store.kv).latest();
    expect(last).toMatchObject({ seq: moved.seq, head: moved.head });
    expect(verifyCheckpoint(last, [operator.publicKey]).checkpoint.seq).toBe(4);
    expect(await new CheckpointLog(store.kv).get(2)).toEqual(cp);
    expect(events.map((c) => c.seq)).toEqual([2, 4]);
  });

  it('a node restarted on the same store with no new operation signs nothing new at stop', async () => {
    const store = new MemoryStore();
    node = await startNode(store, { operatorKey: operator });
    await work(node, 1);
    await node.stop();
    const first = await new CheckpointLog(store.kv).latest();
    expect(first?.seq).toBe(0);

    node = await startNode(store, { operatorKey: operator });
    const events: TraceCheckpoint[] = [];
    node.on('checkpoint', (c) => events.push(c));
    await node.stop();
    node = undefined;
    expect(events).toEqual([]);
    expect(await new CheckpointLog(store.kv).latest()).toEqual(first);
  });

  it('without an operator key the node signs no checkpoints: checkpoint() is ESTATE and the store holds none', async () => {
    const store = new MemoryStore();
    node = await startNode(store);
    await work(node, 2);
    await expect(node.checkpoint()).rejects.toSatisfy((e: unknown) => e instanceof CallError && e.code === 'ESTATE' && /no operator key/.test(e.message));
    await node.stop();
    node = undefined;
    expect(await store.kv.scan(NODE_NAMESPACE, CHECKPOINT_PREFIX, 10)).toEqual([]);
    expect(await store.kv.get(NODE_NAMESPACE, LATEST_CHECKPOINT_KEY)).toBeUndefined();
  });

  it('without a trace role checkpoint() is EUNAVAILABLE, and stop signs nothing', async () => {
    const store = new MemoryStore();
    const { testDistribution } = await import('./harness.js');
    const { Node } = await import('@mcp0/sdk');
    const base = await testDistribution();
    node = await Node.start({
      distribution: { ...base, plugins: base.plugins.filter((p) => p.name !== 'mcp0.trace'), pipeline: { admit: [], observe: [] } },
      store,
      operatorKey: operator,
    });
    await expect(node.checkpoint()).rejects.toMatchObject({ code: 'EUNAVAILABLE' });
    await node.stop();
    node = undefined;
    expect(await store.kv.get(NODE_NAMESPACE, LATEST_CHECKPOINT_KEY)).toBeUndefined();
  });

  it('refuses a checkpoint interval that is not a positive integer at start', async () => {
    await expect(startNode('memory:', { operatorKey: operator, checkpointIntervalMs: 0 })).rejects.toMatchObject({ code: 'EUSAGE' });
  });
});
