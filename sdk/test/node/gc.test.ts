// gc on a node's store (issue 13): the collector marks everything the node needs, not only what
// the storage plugin's heads reach: each agent's module (so a restarted node brings it back), the
// trees of its recorded snapshots (so `recover` and healing still find them after `keep` cut them
// out of history), whatever a malformed record could name; a failed mark sweeps nothing and names
// the agent; a dry run deletes nothing. And `recover` refuses a root from outside the agent's history.
// No test waits for time to pass: the `now` clock moves the gc past its grace period.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Mcp0Error, decodeCbor, encodeCbor, generateKeyPair } from '@mcp0/abi';
import {
  AgentRecords,
  MemoryStore,
  NODE_NAMESPACE,
  collectGarbage,
  collectNodeGarbage,
  type AgentEvent,
  type GcProgress,
  type GcReport,
  type Node,
  type Store,
} from '@mcp0/sdk';
import { STORAGE_MODULE, headRef } from '@mcp0/sdk/archive';
import { signed } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const lmdb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-node-gc-'));
  dirs.push(dir);
  return `lmdb:${dir}`;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A clock two hours ahead: with the default grace (an hour), every block written so far is old enough. */
const later = () => Date.now() + 2 * 3_600_000;
const nextEvent = (n: Node, type: AgentEvent['type']) => new Promise<AgentEvent>((resolve) => n.on('agent', (e) => e.type === type && resolve(e)));

/** Every stored block id (hex). */
async function stored(store: Store): Promise<Set<string>> {
  const out = new Set<string>();
  for (let after: Uint8Array | undefined; ; ) {
    const rows = await store.listBlocks(after, 1000);
    rows.forEach((r) => out.add(hex(r.id)));
    if (rows.length < 1000) return out;
    after = rows.at(-1)!.id;
  }
}

/** The storage-level collector over a node's store, as the SDK offered it before nodes had their own entry. */
const storeGc = (node: Node, options: { keep?: number; dryRun?: boolean } = {}) =>
  collectGarbage({ store: node.store, call: (e, i) => node.callRole('storage', e, i as never), now: later, ...options });

describe('gc keeps what the node needs (defects 1 and 3)', () => {
  it.each([
    ['collectNodeGarbage(node)', (node: Node, keep?: number) => collectNodeGarbage(node, { now: later, ...(keep ? { keep } : {}) })],
    ['collectGarbage({store, call})', (node: Node, keep?: number) => storeGc(node, keep ? { keep } : {})],
  ] as const)("%s: the agents' modules stay, and a restarted node brings every agent back with its state", async (_entry, gc) => {
    const uri = lmdb();
    let node = await startNode(uri);
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    const counter = await node.agents.spawn({ module: await signed('counter'), name: 'counter' });
    await notes.execute('remember', { text: 'outlives gc' });
    await counter.execute('increment', { by: 5 });
    const orphan = (await node.store.blocks.put([new Uint8Array(randomBytes(300))]))[0]!; // an interrupted write
    const report = await gc(node);
    expect(report.records).toBe(2);
    expect(report.pinned).toBeGreaterThan(0); // the modules: no head reaches them
    expect(report.swept).toBeGreaterThan(0);
    expect((await stored(node.store)).has(hex(orphan))).toBe(false);
    const records = (await new AgentRecords(node.store.kv, node.store.blocks).list()).records;
    for (const r of records) expect(await node.store.blocks.has(r.module.blocks.map((b) => Buffer.from(b, 'hex')))).toEqual(r.module.blocks.map(() => true));
    await node.stop();

    node = await startNode(uri);
    expect(node.agents.refused()).toEqual([]);
    expect(node.agents.list().map((a) => a.name)).toEqual(['notes', 'counter']);
    expect(((await node.agents.get('notes').execute('recall', { query: 'gc' })) as { notes: { text: string }[] }).notes.map((n) => n.text)).toEqual([
      'outlives gc',
    ]);
    expect(await node.agents.get('counter').execute('get')).toEqual({ value: 5 });
    await node.stop();
  });

  it('keep: 1 keeps every recorded snapshot: recover works, after a restart too', async () => {
    const uri = lmdb();
    let node = await startNode(uri);
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    await c.execute('increment', { by: 1 });
    const first = await c.snapshot();
    await c.execute('increment', { by: 10 });
    const second = await c.snapshot();
    for (let i = 0; i < 3; i++) await c.execute('increment', { by: 100 });
    const report = await collectNodeGarbage(node, { keep: 1, now: later });
    expect(report.dropped).toBe(1);
    expect(report.damaged).toEqual([]);
    // Cut out of the plugin's history, kept for the record.
    expect(((await node.callRole('storage', 'history', { agent: c.id, limit: 100 })) as { roots: Uint8Array[] }).roots.map(hex)).not.toContain(first.id);
    await c.recover(first.id);
    expect(await c.execute('get')).toEqual({ value: 1 });
    await node.stop();

    node = await startNode(uri);
    const back = node.agents.get('c');
    await back.recover(second.id);
    expect(await back.execute('get')).toEqual({ value: 11 });
    await back.recover(first.id);
    expect(await back.execute('get')).toEqual({ value: 1 });
    await node.stop();
  });

  it('keep: 1 keeps the snapshot healing restores: the agent heals to it', async () => {
    const node = await startNode('memory:', { restart: { failureThreshold: 1 } });
    const f = await node.agents.spawn({ module: await signed('faulty'), name: 'f' });
    await f.execute('write', { key: '/k', value: 'snapshotted' });
    await f.snapshot();
    for (const v of ['later 1', 'later 2', 'later 3']) await f.execute('write', { key: '/k', value: v });
    await collectNodeGarbage(node, { keep: 1, now: later });
    const healed = nextEvent(node, 'healed');
    const failed = nextEvent(node, 'heal-failed');
    await expect(f.execute('write_then_trap', { key: '/x' })).rejects.toMatchObject({ code: 'ETRAP' });
    const event = await Promise.race([healed, failed]);
    expect(event.type, event.reason).toBe('healed');
    expect(await f.execute('read', { key: '/k' })).toBe('snapshotted');
    await node.stop();
  });

  it('keeps the module and snapshots of an agent the node refuses to bring back, and everything a malformed record names', async () => {
    const store = new MemoryStore();
    const own = generateKeyPair();
    let node = await startNode(store, { trust: [own.publicKey] });
    const c = await node.agents.spawn({ module: await signed('counter', own), name: 'c' });
    await c.execute('increment', { by: 2 });
    const snap = await c.snapshot();
    await c.execute('increment', { by: 2 });
    await node.stop();
    // A record damaged in place (a field of the wrong type) and one that is not CBOR at all: both
    // name blocks in the node's form (64 hex digits), one of them a snapshot's tree.
    const records = new AgentRecords(store.kv, store.blocks);
    const [record] = (await records.list()).records;
    const moduleA = await records.putModule(await signed('memory'));
    const moduleB = await records.putModule(new Uint8Array(randomBytes(700)));
    await store.kv.put(
      NODE_NAMESPACE,
      'agent/agent-damaged',
      encodeCbor({ ...record!, id: 'agent-damaged', name: 'damaged', created: 'yesterday', module: { ...record!.module, blocks: moduleA } } as never),
    );
    await store.kv.put(NODE_NAMESPACE, 'agent/agent-garbled', new TextEncoder().encode(`\u0000garbled ${moduleB.join(',')} ${snap.id}`));
    expect((await records.list()).malformed.map((m) => m.id).sort()).toEqual(['agent-damaged', 'agent-garbled']);

    // Started without trusting c's publisher: c is refused, and gc keeps what it needs all the same.
    node = await startNode(store);
    expect(
      node.agents
        .refused()
        .map((r) => [r.id, r.code])
        .sort(),
    ).toEqual(
      [
        [c.id, 'EUNTRUSTED'],
        ['agent-damaged', 'EINPUT'],
        ['agent-garbled', 'EINPUT'],
      ].sort(),
    );
    const report = await collectNodeGarbage(node, { keep: 1, now: later });
    await node.stop();
    expect(report.dropped).toBe(1);
    expect(report.records).toBe(1);
    expect(report.malformed).toEqual([
      { key: 'agent/agent-damaged', reason: 'created is not a time', ids: moduleA.length + 1 },
      { key: 'agent/agent-garbled', reason: expect.stringMatching(/^not CBOR/), ids: moduleB.length + 1 },
    ]);
    const left = await stored(store);
    for (const b of [...record!.module.blocks, ...moduleA, ...moduleB, snap.id]) expect(left.has(b), b).toBe(true);
    node = await startNode(store, { trust: [own.publicKey] });
    const back = node.agents.get('c');
    expect(await back.execute('get')).toEqual({ value: 4 });
    await back.recover(snap.id);
    expect(await back.execute('get')).toEqual({ value: 2 });
    await node.stop();
  });
});

describe('gc reports what it cannot mark', () => {
  it('a failed mark of one agent sweeps nothing and names it; the others are marked; keep repairs a missing parent', async () => {
    const node = await startNode('memory:');
    const a = await node.agents.spawn({ module: await signed('counter'), name: 'a' });
    const b = await node.agents.spawn({ module: await signed('counter'), name: 'b' });
    for (let i = 0; i < 3; i++) await a.execute('increment', { by: 1 });
    for (let i = 0; i < 3; i++) await b.execute('increment', { by: 2 }); // a history of its own (no shared commits)
    // a's history loses a commit (the head's parent), as an import without history used to leave it.
    const head = (await node.store.blocks.refGet(STORAGE_MODULE, headRef(a.id)))!;
    const parent = (decodeCbor((await node.store.blocks.get(head.root))!) as { parent: Uint8Array }).parent;
    await node.store.deleteBlocks([parent]);
    const [garbage] = await node.store.blocks.put([new Uint8Array(randomBytes(200))]);
    const before = await stored(node.store);

    const e = (await collectNodeGarbage(node, { now: later }).catch((x: unknown) => x)) as Mcp0Error;
    expect(e).toBeInstanceOf(Mcp0Error);
    expect(e.code).toBe('EINTERNAL');
    expect(e.message).toContain(`agent "${a.id}"`);
    expect(e.message).toMatch(/nothing swept/);
    const report = e.details.report as GcReport;
    expect(report.failed).toEqual([{ agent: a.id, code: 'EINTERNAL', message: expect.stringContaining('missing') }]);
    expect(report.agents).toBe(2);
    expect(report.perAgent.map((m) => m.agent)).toEqual([b.id]);
    expect(await stored(node.store)).toEqual(before); // nothing deleted
    // The same on a dry run.
    await expect(collectNodeGarbage(node, { now: later, dryRun: true })).rejects.toMatchObject({ code: 'EINTERNAL' });

    // keep: 1 rewrites a's head as a root commit: the chain is whole again, and the sweep runs.
    const repaired = await collectNodeGarbage(node, { keep: 1, now: later });
    expect(repaired.failed).toEqual([]);
    expect((await stored(node.store)).has(hex(garbage!))).toBe(false);
    expect(await a.execute('get')).toEqual({ value: 3 });
    expect(await b.execute('get')).toEqual({ value: 6 });
    await node.stop();
  });

  it('a block missing under a recorded snapshot is reported, the rest is swept', async () => {
    const node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    const d = await node.agents.spawn({ module: await signed('counter'), name: 'd' });
    await c.execute('increment', { by: 1 });
    const lost = await c.snapshot();
    await c.execute('increment', { by: 1 });
    await d.execute('increment', { by: 7 });
    const kept = await d.snapshot();
    await d.execute('increment', { by: 1 });
    await collectNodeGarbage(node, { keep: 1, now: later });
    await node.store.deleteBlocks([Buffer.from(lost.id, 'hex')]);
    const [garbage] = await node.store.blocks.put([new Uint8Array(randomBytes(200))]);
    const report = await collectNodeGarbage(node, { now: later });
    expect(report.damaged).toEqual([{ what: `agent ${c.id} snapshot ${lost.id}`, agent: c.id, block: lost.id, message: 'missing from the store' }]);
    expect((await stored(node.store)).has(hex(garbage!))).toBe(false);
    await expect(c.recover(lost.id)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await d.recover(kept.id);
    expect(await d.execute('get')).toEqual({ value: 7 });
    await node.stop();
  });
});

describe('gc dry run and progress', () => {
  it('a dry run deletes nothing and cuts no history, and counts exactly what the run then sweeps', async () => {
    const node = await startNode('memory:');
    const c = await node.agents.spawn({ module: await signed('counter'), name: 'c' });
    const m = await node.agents.spawn({ module: await signed('memory'), name: 'm' });
    for (let i = 0; i < 4; i++) await c.execute('increment', { by: 1 });
    await c.snapshot();
    for (let i = 0; i < 3; i++) await m.execute('remember', { text: `note ${i}` });
    await node.store.blocks.put([new Uint8Array(randomBytes(200)), new Uint8Array(randomBytes(300))]);
    const before = await stored(node.store);
    const history = async () => ((await node.callRole('storage', 'history', { agent: c.id, limit: 100 })) as { roots: Uint8Array[] }).roots.length;
    const commits = await history();
    const now = later();

    const plain = await collectNodeGarbage(node, { dryRun: true, now: () => now });
    const dry = await collectNodeGarbage(node, { dryRun: true, keep: 2, now: () => now });
    expect(plain).toMatchObject({ dryRun: true, dropped: 0, swept: 2 });
    expect(dry).toMatchObject({ dryRun: true, dropped: 2 });
    expect(dry.swept).toBeGreaterThan(plain.swept);
    expect(await stored(node.store)).toEqual(before);
    expect(await history()).toBe(commits);

    const real = await collectNodeGarbage(node, { keep: 2, now: () => now });
    expect(real).toMatchObject({ dryRun: false, dropped: 2, swept: dry.swept });
    expect(await history()).toBe(2);
    expect(await c.execute('get')).toEqual({ value: 4 });
    await node.stop();
  });

  it('reports progress: each agent, the records, each page of the sweep', async () => {
    const node = await startNode('memory:');
    for (const name of ['x', 'y', 'z']) await (await node.agents.spawn({ module: await signed('counter'), name })).execute('increment', { by: 1 });
    const seen: GcProgress[] = [];
    const report = await collectNodeGarbage(node, { now: later, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.phase)).toEqual(['heads', 'heads', 'heads', 'records', 'sweep']);
    expect(seen.map((p) => p.agents)).toEqual([1, 2, 3, 3, 3]);
    expect(seen.at(-1)).toEqual({ phase: 'sweep', agents: 3, live: report.live, scanned: report.scanned, swept: report.swept });
    await node.stop();
  });
});

describe("recover refuses a root from outside the agent's history", () => {
  it("refuses another agent's snapshot (EPERM) unless forced; its own snapshots, versions and the empty state are fine", async () => {
    const node = await startNode('memory:');
    const tally = await node.agents.spawn({ module: await signed('counter'), name: 'tally' });
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    const empty = await tally.stateRoot();
    await tally.execute('increment', { by: 1 });
    const unrecorded = await tally.stateRoot(); // in its history, never recorded as a snapshot
    await tally.execute('increment', { by: 1 });
    await notes.execute('remember', { text: "not tally's" });
    const foreign = await notes.snapshot();

    const e = (await tally.recover(foreign.id).catch((x: unknown) => x)) as Mcp0Error;
    expect(e).toMatchObject({ code: 'EPERM', details: { agent: tally.id, snapshot: foreign.id, reason: 'not-in-history' } });
    expect(e.message).toMatch(/not in its history.*force/);
    expect(await tally.execute('get')).toEqual({ value: 2 }); // nothing moved

    await tally.recover(unrecorded);
    expect(await tally.execute('get')).toEqual({ value: 1 });
    await tally.recover(empty);
    expect(await tally.execute('get')).toEqual({ value: 0 });

    const recovered = nextEvent(node, 'recovered');
    await tally.recover(foreign.id, { force: true });
    expect(await recovered).toMatchObject({ agent: tally.id, snapshot: foreign.id, reason: expect.stringContaining('forced') });
    expect(await tally.stateRoot()).toBe(foreign.id);
    await node.stop();
  });
});
