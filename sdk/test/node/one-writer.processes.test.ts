// Two node processes on one store (issue 13, defect 4), LMDB and MongoDB (FerretDB): each runs
// increments of one agent, in sessions of a few hundred (LMDB) or 25 (FerretDB, where each
// increment costs ~30 times more) with the agent handed over between sessions, until it has its
// count of acknowledged ones. The agent ends at exactly the number of acknowledged increments,
// every acknowledged value is distinct, and the values one node saw while it held the agent are
// consecutive: the other node never ran it meanwhile.
// (Before the fix: two processes × 100 increments on LMDB ended at 111, on FerretDB 20 of 100 were lost.)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPublicJwk } from '@mcp0/abi';
import { buildPackages } from '../../../test/built.js';
import { publisher, signed } from '../../../test/fixtures.js';
import { startMongo, testDatabases, type MongoServer } from '../../../test/mongo-server.js';
import { startNode } from './harness.js';

const fixture = join(import.meta.dirname, 'two-nodes.fixture.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mcp0-two-nodes-'));
const mongo = await startMongo();

beforeAll(async () => {
  // The children run the built SDK.
  buildPackages();
  writeFileSync(join(dir, 'storage.wasm'), await signed('storage'));
  writeFileSync(join(dir, 'publisher.pub.jwk'), JSON.stringify(toPublicJwk(publisher.publicKey)));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await mongo?.stop();
});

interface ChildLog {
  pid: number;
  sessions: number[][];
  busy: number;
  conflicts: number;
  done: number;
}

function runChild(uri: string, count: number, batch: number): Promise<ChildLog> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', fixture, uri, dir, 'tally', String(count), String(batch)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: ChildLog = { pid: child.pid!, sessions: [], busy: 0, conflicts: 0, done: -1 };
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [what, arg] = line.split(' ');
        if (what === 'session') log.sessions.push([]);
        else if (what === 'ack') log.sessions.at(-1)!.push(Number(arg));
        else if (what === 'busy') log.busy++;
        else if (what === 'conflict') log.conflicts++;
        else if (what === 'done') log.done = Number(arg);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(log) : reject(new Error(`child exited with ${code}: ${stderr}`))));
  });
}

/** Two children, each running `count` acknowledged increments in sessions of up to `batch`. */
async function twoNodes(uri: string, count: number, batch: number): Promise<void> {
  // The agent, spawned by a node that then stops (and so releases it).
  const first = await startNode(uri);
  await first.agents.spawn({ module: await signed('counter'), name: 'tally' });
  await first.stop();

  const logs = await Promise.all([runChild(uri, count, batch), runChild(uri, count, batch)]);
  const acked = logs.flatMap((l) => l.sessions.flat());
  expect(logs.map((l) => l.done)).toEqual([count, count]);
  expect(acked).toHaveLength(2 * count);
  // Every acknowledged increment is a distinct value: none was lost or counted twice.
  expect(new Set(acked).size).toBe(2 * count);
  expect(Math.max(...acked)).toBe(2 * count);
  // One node at a time: within a session the values are consecutive.
  for (const l of logs)
    for (const s of l.sessions)
      expect(
        s.every((v, i) => i === 0 || v === s[i - 1]! + 1),
        `session of ${l.pid}: ${s.join(',')}`,
      ).toBe(true);

  const last = await startNode(uri);
  try {
    expect(await last.agents.get('tally').execute('get')).toEqual({ value: 2 * count });
  } finally {
    await last.stop();
  }
  console.info(
    `[two nodes on ${uri.split(':')[0]}] ${acked.length} acknowledged, final ${2 * count}; sessions ${logs.map((l) => l.sessions.length).join(' + ')}, refused (EBUSY) ${logs.map((l) => l.busy).join(' + ')}, ECONFLICT ${logs.map((l) => l.conflicts).join(' + ')}`,
  );
}

describe('two node processes on one store: one writer per agent, no lost update', () => {
  it('on LMDB', async () => {
    await twoNodes(`lmdb:${join(dir, 'lmdb')}`, 1000, 250);
  }, 600_000);

  it.skipIf(!mongo)(
    'on MongoDB (FerretDB)',
    async () => {
      const databases = testDatabases(mongo as MongoServer, 'mcp0_two_nodes_');
      try {
        await twoNodes(databases.fresh(), 100, 25);
      } finally {
        await databases.drop();
      }
    },
    1_200_000,
  );
});
