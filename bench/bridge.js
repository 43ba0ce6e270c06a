/**
 * Sync bridging for an async store (ABI.md §4), measured (`node --no-warnings --expose-gc
 * bench/bridge.js [--quick]`, after `npx tsc -b`): the storage plugin on MongoDB (FerretDB 1.24.2)
 * two ways, on the same 2,000-key × 1 KiB agent state:
 *  (i)  worker tier over MongoStore (its LRU block cache on): the guest's thread blocks while the
 *       main thread awaits the driver;
 *  (ii) inline tier over MongoSyncStore (sdk/src/store/bridge.ts), the synchronous bridge: blocks
 *       from a local cache, and on a miss, for refs and for writes, `Atomics.wait` while an I/O
 *       worker thread with its own MongoClient does the call.
 * Skipped, with a note, when the FerretDB binary is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MongoStore, MongoSyncStore } from '@mcp0/sdk/mongo';
import { buildPlugin } from '@mcp0/builder';
import { ferretdbPath, startFerretdb } from './lib/ferretdb.js';
import { ROOT } from './lib/fixtures.js';
import { measure } from './lib/measure.js';
import { figuresTable, ratio, ratiosTable } from './lib/report.js';

const NAME = 'mcp0.storage';
const N = 2000;
const scale = process.argv.includes('--quick') ? 0.25 : 1;
const log = (msg) => process.stderr.write(`${msg}\n`);
const bin = ferretdbPath();
if (!bin) {
  console.log('bridge bench skipped: no FerretDB binary (set MCP0_FERRETDB or run bash scripts/ferretdb/build.sh)');
  process.exit(0);
}
log(
  `mcp0 bridge bench: node ${process.version}, ${os.cpus().length} cpus, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const key = generateKeyPair();
const tmp = mkdtempSync(join(tmpdir(), 'mcp0-bench-bridge-'));
const wasm = signModule((await buildPlugin(`${ROOT}plugins/storage`, { out: join(tmp, 'storage.wasm') })).wasm, key);
const server = await startFerretdb(bin);
const uriFor = (db) => server.uri.replace('/mcp0bench?', `/${db}?`);

const value = (i, gen) => {
  const v = new Uint8Array(1024).fill((i * 7 + gen) & 0xff);
  new DataView(v.buffer).setUint32(0, i);
  new DataView(v.buffer).setUint32(4, gen);
  return v;
};
const keyOf = (i) => `/memory/notes/${i}`;

async function setUp(label, blocks, tier) {
  const kernel = new Kernel({ trust: [key.publicKey], providers: { blocks } });
  await kernel.load(wasm, { isolation: tier, grants: [{ name: 'blocks' }, { name: 'random' }] });
  const call = (exp, input) => kernel.callValue(NAME, exp, input);
  log(`[${label}] building ${N} keys × 1 KiB …`);
  for (let i = 0; i < N; i += 500) {
    await call('apply', { agent: 'a', delta: { puts: Array.from({ length: 500 }, (_, j) => [keyOf(i + j), value(i + j, 0)]) } });
  }
  return { kernel, call };
}

let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
let gen = 1;
const tasksFor = (label, call) => [
  {
    id: `${label}.get`,
    fn: async () => {
      const v = await call('get', { agent: 'a', key: keyOf(Math.floor(rand() * N)) });
      if (v?.length !== 1024) throw new Error('get: wrong value');
    },
  },
  {
    id: `${label}.put`,
    fn: () => {
      const i = Math.floor(rand() * N);
      return call('put', { agent: 'a', key: keyOf(i), value: value(i, gen++) });
    },
  },
  { id: `${label}.snapshot`, fn: () => call('snapshot', { agent: 'a' }) },
  {
    id: `${label}.apply1pct`,
    fn: () => {
      const g = gen++;
      return call('apply', {
        agent: 'a',
        delta: {
          puts: Array.from({ length: N / 100 }, () => Math.floor(rand() * N))
            .filter((x, i, a) => a.indexOf(x) === i)
            .map((i) => [keyOf(i), value(i, g)]),
        },
      });
    },
  },
];
const labels = { get: 'get 1 KiB, random key of 2k', put: 'put 1 KiB, random key of 2k', snapshot: 'snapshot', apply1pct: 'apply 1% (20 keys) = new version' };

const store = await MongoStore.connect(uriFor('bridge_worker'));
// Counts the worker tier's host calls into the store (each is a hop between the guest's thread and
// the main thread); the bridge counts its own hops to the I/O thread.
let hostCalls = 0;
const counted = Object.fromEntries(['put', 'get', 'has', 'refGet', 'refCas'].map((m) => [m, (...a) => (hostCalls++, store.blocks[m](...a))]));
const worker = await setUp('worker', counted, 'worker');
const bridge = await MongoSyncStore.open(uriFor('bridge_sync'));
const inline = await setUp('bridge', bridge.blocks, 'inline');

const rows = [];
const tasks = [...tasksFor('worker', worker.call), ...tasksFor('bridge', inline.call)];
log('measuring …');
const stats = await measure(tasks, { timeMs: Math.max(200, Math.round(1500 * scale)), rounds: 2, minIterations: 16 });
for (const t of tasks) {
  const [group, op] = t.id.split('.');
  rows.push({ id: t.id, group: group === 'worker' ? '(i) worker tier' : '(ii) inline + sync bridge', label: labels[op], stats: stats.get(t.id) });
}
// Thread hops per operation: the worker tier's host calls, the bridge's round trips (cache hits need none).
const hops = [];
for (const [op, input] of [
  ['get', (i) => ({ agent: 'a', key: keyOf(i) })],
  ['put', (i) => ({ agent: 'a', key: keyOf(i), value: value(i, 99) })],
  ['snapshot', () => ({ agent: 'a' })],
]) {
  hostCalls = 0;
  bridge.stats.roundTrips = 0;
  bridge.stats.hits = 0;
  for (let i = 0; i < 20; i++) {
    await worker.call(op, input(i));
    await inline.call(op, input(i));
  }
  hops.push(
    `${op}: worker tier ${(hostCalls / 20).toFixed(1)} host calls, bridge ${(bridge.stats.roundTrips / 20).toFixed(1)} round trips + ${(bridge.stats.hits / 20).toFixed(1)} cache hits`,
  );
}
const perGet = hops.join('\n        ');

console.log(`\n${figuresTable(rows)}\n`);
const row = (id) => rows.find((r) => r.id === id);
console.log(ratiosTable(Object.keys(labels).map((op) => ratio(`worker / bridge: ${op}`, row(`worker.${op}`), row(`bridge.${op}`)))));
console.log(`\nhops per op: ${perGet}`);

await worker.kernel.stop();
await inline.kernel.stop();
await store.close();
await bridge.close();
await server.stop();
rmSync(tmp, { recursive: true, force: true });
