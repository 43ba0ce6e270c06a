// A node restarted on the same LMDB directory brings its agents back: ids, names, paused state,
// snapshots, and the state itself (served again by the storage plugin from the stored heads).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { signed } from '../../../test/fixtures.js';
import { startNode } from './harness.js';

describe('node restart on LMDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp0-node-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brings agents and their state back', async () => {
    let node = await startNode(`lmdb:${dir}`);
    const notes = await node.agents.spawn({ module: await signed('memory'), name: 'notes' });
    const counter = await node.agents.spawn({ module: await signed('counter'), name: 'counter' });
    await notes.execute('remember', { text: 'survives restarts' });
    await counter.execute('increment', { by: 41 });
    const snap = await counter.snapshot();
    await counter.execute('increment');
    await counter.pause();
    const roots = [await notes.stateRoot(), await counter.stateRoot()];
    await node.stop();

    node = await startNode(`lmdb:${dir}`);
    const agents = node.agents.list();
    expect(agents.map((a) => [a.id, a.name, a.state])).toEqual([
      [notes.id, 'notes', 'running'],
      [counter.id, 'counter', 'paused'],
    ]);
    expect([await agents[0]!.stateRoot(), await agents[1]!.stateRoot()]).toEqual(roots);
    const recalled = (await node.agents.get('notes').execute('recall', { query: 'restart' })) as { notes: { text: string }[] };
    expect(recalled.notes.map((n) => n.text)).toEqual(['survives restarts']);
    const c = node.agents.get('counter');
    await expect(c.execute('get')).rejects.toMatchObject({ code: 'ESTATE' });
    await c.resume();
    expect(await c.execute('get')).toEqual({ value: 42 });
    expect(c.snapshots.map((s) => s.id)).toEqual([snap.id]);
    await c.recover(snap.id);
    expect(await c.execute('get')).toEqual({ value: 41 });
    await node.stop();
  });

  it('brings an agent back only when its publisher is trusted again', async () => {
    const own = generateKeyPair();
    let node = await startNode(`lmdb:${dir}`, { trust: [own.publicKey] });
    const mine = await node.agents.spawn({ module: await signed('counter', own), name: 'mine' });
    await mine.execute('increment', { by: 7 });
    await node.stop();
    // Restarted without that trust: the agent stays stored but is not brought back.
    node = await startNode(`lmdb:${dir}`);
    expect(node.agents.refused()).toEqual([expect.objectContaining({ id: mine.id, name: 'mine', code: 'EUNTRUSTED' })]);
    await expect(async () => node.agents.get('mine')).rejects.toMatchObject({ code: 'EUNTRUSTED', message: expect.stringContaining(`signed by ${own.kid}`) });
    await node.stop();
    // Trusted again, by the embedder or through a lookup (a keyring): back, with its state.
    node = await startNode(`lmdb:${dir}`, { publisherKey: (kid) => (kid === own.kid ? own.publicKey : undefined) });
    expect(await node.agents.get('mine').execute('get')).toEqual({ value: 7 });
    // Trust lent to a stored agent is not trust to spawn: a new one needs the embedder's.
    await expect(node.agents.spawn({ module: await signed('counter', own), name: 'other' })).rejects.toMatchObject({ code: 'EUNTRUSTED' });
    await node.stop();
  });
});
