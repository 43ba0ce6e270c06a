/**
 * kill -9 with `mcp0 store gc` (issue 13): a node writing through two agents (the built SDK, in a
 * child process) is killed mid-burst, then `mcp0 store gc --keep 1 --grace 0` (the built binary) is
 * killed as its marking begins, at the end of it (as the sweep begins), or left to finish;
 * after each round a node restarted on the store starts, brings both agents back with every
 * acknowledged write, and every snapshot acknowledged in any round recovers to its value. Where
 * exactly each kill lands does not matter: the checks hold at any point. On LMDB and on MongoDB
 * (FerretDB), whose writes are single-document atomic only. Builds dist/ first.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../test/built.js';
import { startMongo, testDatabases } from '../../test/mongo-server.js';
import { publicKeyOf, readKeyFile } from '@mcp0/abi';
import { Node, loadDistribution, type Agent } from '@mcp0/sdk';
import { KEYRING, signedFile, tempDir } from './helpers.js';
import { nodeDist } from './node-dist.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const writer = join(import.meta.dirname, 'fixtures', 'gc-writer.fixture.mjs');
const bin = join(ROOT, 'tools', 'bin', 'mcp0.js');
const mongo = await startMongo();
const databases = mongo && testDatabases(mongo, 'mcp0_gc_crash_');
afterAll(async () => {
  await databases?.drop();
  await mongo?.stop();
});

let dist: string;
let counter: { file: string; pub: string };
let memory: { file: string };
beforeAll(async () => {
  buildPackages();
  dist = await nodeDist();
  counter = await signedFile('counter');
  memory = await signedFile('memory');
}, 300_000);

/**
 * Runs `args` under node until `until` says stop on a line of `stream`, then SIGKILLs it; a child
 * that exits first (a gc that finished) is fine when `mayFinish`. Resolves to its lines.
 */
function runChild(
  args: string[],
  stream: 'stdout' | 'stderr',
  until: (line: string, lines: string[]) => boolean,
  mayFinish = false,
): Promise<{ lines: string[]; killed: boolean; code: number | null }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--no-warnings', ...args], {
      cwd: ROOT,
      env: { ...process.env, MCP0_KEYRING: KEYRING, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const output = { stdout: '', stderr: '' };
    let buffered = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (output.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
    child[stream].on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!killed && until(line, lines)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && killed) done({ lines, killed, code });
      else if (mayFinish && code === 0) done({ lines, killed: false, code });
      else fail(new Error(`child ${args.join(' ')} ended (${code ?? signal}) before it was killed\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`));
    });
  });
}

interface Acks {
  /** tally's value after the last acknowledged increment. */
  value: number;
  /** notes acknowledged. */
  notes: number;
  /** Recorded snapshots acknowledged: id → tally's value. */
  snaps: Map<string, number>;
}

/** A node on the store, as after a restart (the test's own SDK, from source). */
async function restarted(store: string): Promise<Node> {
  const assembler = publicKeyOf(await readKeyFile(join(dist, 'dev-key.pub.jwk')));
  const publisher = publicKeyOf(await readKeyFile(counter.pub));
  return Node.start({ distribution: await loadDistribution(dist, { trust: [assembler] }), store, trust: [publisher] });
}

async function countNotes(notes: Agent): Promise<number> {
  let n = 0;
  for (let after = 0; ; ) {
    const page = (await notes.execute('list', { limit: 100, ...(after ? { after } : {}) })) as { notes: unknown[]; next: number | null };
    n += page.notes.length;
    if (page.next === null) return n;
    after = page.next;
  }
}

/** The node starts, both agents are back with at least every acknowledged write, and every acknowledged snapshot recovers. */
async function checkRestart(store: string, acks: Acks): Promise<void> {
  const node = await restarted(store);
  try {
    expect(node.agents.refused()).toEqual([]);
    expect(
      node.agents
        .list()
        .map((a) => a.name)
        .sort(),
    ).toEqual(['notes', 'tally']);
    const tally = node.agents.get('tally');
    const value = ((await tally.execute('get')) as { value: number }).value;
    // Every acknowledged increment, and one more if its commit landed just before the kill.
    expect([acks.value, acks.value + 1]).toContain(value);
    expect([acks.notes, acks.notes + 1]).toContain(await countNotes(node.agents.get('notes')));
    const recorded = new Set(tally.snapshots.map((s) => s.id));
    const head = await tally.stateRoot();
    for (const [id, v] of acks.snaps) {
      expect(recorded.has(id), `snapshot ${id} is recorded`).toBe(true);
      await tally.recover(id);
      expect(await tally.execute('get'), `snapshot ${id}`).toEqual({ value: v });
    }
    await tally.recover(head); // back to where the writer left it (a root of its own history)
    expect(await tally.execute('get')).toEqual({ value });
  } finally {
    await node.stop();
  }
}

/** The stores: a fresh one of each kind per run (MongoDB when a FerretDB binary or MONGODB_URI is there). */
const stores: [string, (() => string) | null][] = [
  ['LMDB', () => `lmdb:${tempDir('mcp0-gc-crash-')}`],
  ['MongoDB (FerretDB)', databases ? () => databases.fresh() : null],
];

describe.each(stores)('kill -9 during writes and during mcp0 store gc, on %s', (_name, freshStore) => {
  it.skipIf(freshStore === null)(
    'a restarted node brings the agents back with their state, and every recorded snapshot recovers, three rounds over',
    async () => {
      const store = freshStore!();
      const acks: Acks = { value: 0, notes: 0, snaps: new Map() };
      // Where the gc is killed: as it starts marking (its trust lines), as the sweep begins, or not at all.
      const gcKills: [string, ((line: string) => boolean) | null][] = [
        // The gc's node warns that it does not bring the agents back (their publisher is not in its keyring) just before marking.
        ['as marking begins', (line) => line.startsWith('warning: stored agent ')],
        ['as the sweep begins', (line) => line.startsWith('gc: marked ')],
        ['not at all', null],
      ];
      for (const [round, [where, kill]] of gcKills.entries()) {
        const w = await runChild([writer, store, dist, counter.pub, counter.file, memory.file], 'stdout', (_line, lines) => lines.length >= 20 + round * 10);
        for (const line of w.lines) {
          const [kind, a, b] = line.split(' ');
          if (kind === 'inc') acks.value = Number(a);
          else if (kind === 'note') acks.notes = Number(a);
          else if (kind === 'snap') acks.snaps.set(a!, Number(b));
        }
        expect(acks.snaps.size, 'snapshots acknowledged so far').toBeGreaterThanOrEqual(round + 1);
        // The restarted node may have one write more than acknowledged: take it as the new baseline.
        await checkRestart(store, acks);
        const now = await restarted(store);
        acks.value = ((await now.agents.get('tally').execute('get')) as { value: number }).value;
        acks.notes = await countNotes(now.agents.get('notes'));
        await now.stop();

        const gcArgs = [bin, 'store', 'gc', store, '--dist', dist, '--dev', '--keep', '1', '--grace', '0'];
        // A kill may land after the gc finished: either way the checks must hold.
        const g = await runChild(gcArgs, 'stderr', (line) => kill !== null && kill(line), true);
        if (kill === null) expect(g.killed, where).toBe(false);
        await checkRestart(store, acks);
      }
      // A gc run to the end after all that: nothing failed or damaged, and the node is whole.
      const done = await runChild([bin, 'store', 'gc', store, '--dist', dist, '--dev', '--keep', '1', '--grace', '0', '--json'], 'stdout', () => false, true);
      const report = JSON.parse(done.lines.at(-1)!);
      expect(report).toMatchObject({ failed: [], damaged: [], malformed: [], records: 2 });
      await checkRestart(store, acks);
    },
    240_000,
  );
});
