/**
 * Storage benchmarks (`node --no-warnings --expose-gc bench/storage.js`, after `npx tsc -b`): the
 * real storage plugin (`plugins/storage`, "HeapBT") through the kernel, on LMDB (inline tier) and on
 * MongoDB (FerretDB 1.24.2 over SQLite; inline tier through MongoSyncStore, the synchronous bridge,
 * or with --mongo=worker the worker tier over the asynchronous MongoStore),
 * side by side in one run:
 *  1. `put` and `get` on random keys of a 10,000-key agent state (1 KiB values): wall time, and CPU
 *     per operation (process.cpuUsage, every thread) beside the floor: the store's own put of the
 *     same blocks (as many, as large, new) and ref CAS, and its own ref read and get of a 1 KiB
 *     value, measured in the same rounds. The same on the in-memory store (MemoryStore);
 *  2. write amplification: bytes of NEW blocks a 1% random change writes, against a full snapshot
 *     (every block reachable from the root), for 1 KiB and 64 B values, as one `apply` and as
 *     separate `put`s;
 *  3. `snapshot` and `restore` latency (and the latency of the 1% `apply` that makes a new version);
 *  4. a naive baseline: the whole state as one CBOR map (key → value) per snapshot, written as
 *     blocks (≤ 1 MiB each, the store's block limit), read back and decoded for a restore.
 * The MongoDB column is skipped, with a note, when the FerretDB binary is missing (MCP0_FERRETDB,
 * or ${MCP0_CACHE:-~/.cache/mcp0}/ferretdb-1.24.2/ferretdb-test; see scripts/ferretdb/build.sh).
 * Flags: --quick (a quarter of the timed budgets), --only=lmdb|mongo|memory (or a comma-separated list), --mongo=bridge|worker
 * (default bridge), --wasm=<unsigned build> (measure that build of the plugin instead of building
 * plugins/storage: for before/after comparisons, e.g. a build of 0.2.0).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';
import { decodeCbor, encodeCbor, generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore, openStore } from '@mcp0/sdk';
import { MongoSyncStore } from '@mcp0/sdk/mongo';
import { buildPlugin } from '@mcp0/builder';
import { collect, measure, summarise } from './lib/measure.js';
import { figuresTable, ratio, ratiosTable } from './lib/report.js';
import { ROOT } from './lib/fixtures.js';
import { ferretdbPath, startFerretdb } from './lib/ferretdb.js';

const NAME = 'mcp0.storage';
const N = 10_000;
// Keys per apply while building a state.
const CHUNK = 500;
const BLOCK_MAX = 1 << 20; // the store's block limit (LIMITS.blockBytes)

const args = process.argv.slice(2);
const scale = args.includes('--quick') ? 0.25 : 1;
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg === undefined ? undefined : new Set(onlyArg.split(','));
const mongoTier = args.find((a) => a.startsWith('--mongo='))?.slice(8) ?? 'bridge';
const wasmArg = args.find((a) => a.startsWith('--wasm='))?.slice(7);
if (!['bridge', 'worker'].includes(mongoTier)) throw new Error(`--mongo must be bridge or worker, got ${mongoTier}`);
const ms = (n) => Math.max(100, Math.round(n * scale));
const log = (msg) => process.stderr.write(`${msg}\n`);
const started = performance.now();
const sha = (b) => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b) => Buffer.from(b).toString('hex');
const tmps = [];
const tmp = (prefix) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmps.push(d);
  return d;
};

/** Deterministic PRNG (mulberry32), so both backends see the same keys and changes. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** `k` distinct random indices below `n`. */
function pick(rand, n, k) {
  const s = new Set();
  while (s.size < k) s.add(Math.floor(rand() * n));
  return [...s];
}

const keyOf = (i) => `/memory/notes/${i}`;
/** Distinct values (no dedupe flatters a full snapshot): index, generation and salt up front. */
function valueOf(size, i, gen, salt) {
  const v = new Uint8Array(size);
  for (let j = 0; j < size; j++) v[j] = (i * 131 + j * 7 + gen * 17 + salt * 29) & 0xff;
  const dv = new DataView(v.buffer);
  dv.setUint32(0, i);
  dv.setUint32(4, gen);
  dv.setUint16(8, salt);
  return v;
}

// ── The plugin, built from source and signed with a throwaway key ───────────────────────────────
const key = generateKeyPair();
log(wasmArg ? `plugin: ${wasmArg}` : 'building plugins/storage …');
const wasm = signModule(
  wasmArg
    ? new Uint8Array(readFileSync(wasmArg))
    : (await buildPlugin(`${ROOT}plugins/storage`, { out: join(tmp('mcp0-bench-storage-'), 'storage.wasm') })).wasm,
  key,
);
// What the plugin asks for (0.3 adds random, for its salts); granting more than a build asks is harmless.
const GRANTS = [{ name: 'blocks' }, { name: 'random' }];

/**
 * CPU per operation of each task (process.cpuUsage: user + system, every thread, so V8's
 * background garbage collection and compilation are counted), in `rounds` rounds of `n` calls,
 * alternating the order; the median over rounds, in µs.
 */
async function cpuPerOp(tasks, { rounds, n }) {
  const per = new Map(tasks.map((t) => [t.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [...tasks].reverse() : tasks) {
      // No forced collection here: after a full collection V8 runs the next thousand calls slower
      // (the heap is regrown, scavenges come more often), which would bill that to whichever task
      // follows. Alternating the order and taking the median spreads what garbage remains.
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await t.fn();
      const c = process.cpuUsage(c0);
      per.get(t.id).push((c.user + c.system) / n);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  return new Map([...per].map(([id, a]) => [id, med(a)]));
}

// ── Counting new block bytes ─────────────────────────────────────────────────────────────────────
/**
 * Wraps a block provider. While `on`, every `put` first asks the store which of the blocks it
 * already has and adds the bytes of the others. Synchronous stores stay synchronous (the inline
 * tier needs that); asynchronous ones stay asynchronous. While off, calls pass straight through.
 */
function counting(inner) {
  const c = { on: false, bytes: 0, blocks: 0, captured: null };
  const add = (list, had) =>
    list.forEach((b, i) => {
      if (!had[i]) {
        c.bytes += b.length;
        c.blocks++;
      }
    });
  c.provider = {
    put: (list) => {
      c.captured?.push(list.map((b) => b.slice()));
      if (!c.on) return inner.put(list);
      const had = inner.has(list.map(sha));
      if (had instanceof Promise) return had.then((h) => (add(list, h), inner.put(list)));
      add(list, had);
      return inner.put(list);
    },
    get: (id) => inner.get(id),
    has: (ids) => inner.has(ids),
    refGet: (ns, name) => inner.refGet(ns, name),
    refCas: (ns, name, expect, root) => inner.refCas(ns, name, expect, root),
  };
  c.count = async (fn) => {
    c.bytes = 0;
    c.blocks = 0;
    c.on = true;
    try {
      await fn();
    } finally {
      c.on = false;
    }
    return { bytes: c.bytes, blocks: c.blocks };
  };
  return c;
}

/**
 * The bytes of a full snapshot: every distinct block reachable from `root` (nodes read and decoded
 * per the plugin's README; out-of-line values counted by the size their leaf entry records, so the
 * 10,000 value blocks need not be read back).
 */
async function fullSnapshot(blocks, root) {
  const seen = new Set();
  let bytes = 0;
  let nodes = 0;
  let values = 0;
  let entries = 0;
  const visit = async (id) => {
    const b = await blocks.get(id);
    if (!b) throw new Error(`block ${hex(id)} is missing`);
    if (seen.has(hex(id))) return;
    seen.add(hex(id));
    bytes += b.length;
    nodes++;
    // Version 2 `[2, level, [[shared, suffix, ...rest], ...]]`, or version 1 `[level, [[key, ...rest], ...]]`:
    // either way, the item's last fields are what it refers to.
    const node = decodeCbor(b);
    const v2 = node.length === 3;
    const level = v2 ? node[1] : node[0];
    const skip = v2 ? 2 : 1;
    for (const it of v2 ? node[2] : node[1]) {
      const rest = it.slice(skip);
      if (level > 0) await visit(rest[0]);
      else {
        entries++;
        if (rest.length === 2 && !seen.has(hex(rest[0]))) {
          seen.add(hex(rest[0]));
          bytes += Number(rest[1]);
          values++;
        }
      }
    }
  };
  await visit(root);
  return { bytes, nodes, values, entries };
}

// ── The naive baseline: the whole state as one CBOR map ──────────────────────────────────────────
/** Encodes the state, cuts it into ≤ 1 MiB blocks (one block when it fits) and writes them. */
async function naiveSnapshot(blocks, state) {
  const doc = encodeCbor(Object.fromEntries(state));
  const parts = [];
  for (let o = 0; o < doc.length; o += BLOCK_MAX) parts.push(doc.subarray(o, Math.min(doc.length, o + BLOCK_MAX)));
  const ids = await blocks.put(parts);
  return { ids, bytes: doc.length, blocks: parts.length };
}
async function naiveRestore(blocks, ids) {
  const parts = [];
  for (const id of ids) parts.push(await blocks.get(id));
  const doc = parts.length === 1 ? parts[0] : new Uint8Array(Buffer.concat(parts));
  return decodeCbor(doc);
}

// ── One backend ──────────────────────────────────────────────────────────────────────────────────
async function runBackend(backend, store, tier, { opsOnly = false } = {}) {
  const c = counting(store.blocks);
  const kernel = new Kernel({ trust: [key.publicKey], providers: { blocks: c.provider } });
  await kernel.load(wasm, { isolation: tier, grants: GRANTS, timeoutMs: 60_000 });
  const call = (exp, input) => kernel.callValue(NAME, exp, input);
  const rows = [];
  const bytes = {};
  const t0 = performance.now();

  /** Builds a 10,000-key agent state with applies of 500 keys; returns the JS mirror of it. */
  async function build(agent, size, salt) {
    const state = new Map();
    for (let i = 0; i < N; i += CHUNK) {
      const puts = [];
      for (let j = i; j < Math.min(N, i + CHUNK); j++) {
        const v = valueOf(size, j, 0, salt);
        puts.push([keyOf(j), v]);
        state.set(keyOf(j), v);
      }
      await call('apply', { agent, delta: { puts } });
    }
    return state;
  }

  for (const [size, salt] of opsOnly
    ? [[1024, 1]]
    : [
        [1024, 1],
        [64, 2],
      ]) {
    const agent = `amp-${size}`;
    log(`[${backend}] building ${N.toLocaleString('en-US')} keys × ${size} B …`);
    const tb = performance.now();
    const state = await build(agent, size, salt);
    const buildMs = performance.now() - tb;
    const before = (await call('snapshot', { agent })).root;
    const full = await fullSnapshot(store.blocks, before);
    if (full.entries !== N) throw new Error(`${backend}: the tree holds ${full.entries} entries, expected ${N}`);

    // 2. A 1% random change, as one apply, then (another random 1%) as separate puts.
    const rand = rng(0xc0ffee + size);
    const setA = pick(rand, N, N / 100);
    const setB = pick(rand, N, N / 100);
    let tApply = 0;
    const batch = await c.count(async () => {
      const puts = setA.map((i) => [keyOf(i), valueOf(size, i, 1, salt)]);
      const t = performance.now();
      await call('apply', { agent, delta: { puts } });
      tApply = performance.now() - t;
      for (const [k, v] of puts) state.set(k, v);
    });
    const after = (await call('snapshot', { agent })).root;
    const d = await call('diff', { rootA: before, rootB: after });
    if (d.puts.length !== setA.length || d.deletes.length !== 0)
      throw new Error(`${backend}: diff of the 1% apply has ${d.puts.length} puts, ${d.deletes.length} deletes`);
    let tPuts = 0;
    const single = await c.count(async () => {
      const t = performance.now();
      for (const i of setB) {
        const v = valueOf(size, i, 2, salt);
        await call('put', { agent, key: keyOf(i), value: v });
        state.set(keyOf(i), v);
      }
      tPuts = performance.now() - t;
    });

    // 4. The naive baseline's bytes for the same state (every snapshot writes all of it).
    const naive = await naiveSnapshot(store.blocks, state);
    bytes[size] = { full, batch, single, naive, buildMs, tApply, tPuts, before, after, state, agent, salt };
  }

  // 1. put and get on random keys of the 10,000 × 1 KiB state, beside the store's own put and get
  //    of the same bytes (the floor).
  let cpu;
  {
    const { agent, salt } = bytes[1024];
    const rand = rng(42);
    let gen = 10;
    const putOnce = () => {
      const i = Math.floor(rand() * N);
      return call('put', { agent, key: keyOf(i), value: valueOf(1024, i, gen++, salt) });
    };
    const getOnce = async () => {
      const v = await call('get', { agent, key: keyOf(Math.floor(rand() * N)) });
      if (!(v instanceof Uint8Array) || v.length !== 1024) throw new Error('get: wrong value');
    };
    // The blocks of 200 puts, as the plugin handed them to blocks_put: the floor writes lists like
    // these (the same number of blocks, of the same sizes, made new by a counter in their first
    // bytes) and moves a ref of its own by CAS, the two synchronous steps a put takes.
    c.captured = [];
    for (let i = 0; i < 200; i++) await putOnce();
    const templates = c.captured;
    c.captured = null;
    const perPut = templates.reduce((s, l) => s + l.reduce((t, b) => t + b.length, 0), 0) / templates.length;
    const blocksPerPut = templates.reduce((s, l) => s + l.length, 0) / templates.length;
    let fi = 0;
    let version = 0;
    const floorPut = async () => {
      const n = fi++;
      const list = templates[n % templates.length].map((b, j) => {
        const x = b.slice();
        new DataView(x.buffer).setUint32(0, n);
        x[4] = j;
        x[5] = 0xfe;
        return x;
      });
      const ids = await store.blocks.put(list);
      version = await store.blocks.refCas('bench.floor', 'head', version, ids[ids.length - 1]);
    };
    // The floor of a get: the head ref, and a 1 KiB value block (one of the state's first values).
    const valueIds = Array.from({ length: 1000 }, (_, i) => sha(valueOf(1024, i * 10, 0, salt)));
    const floorGet = async () => {
      await store.blocks.refGet(NAME, `head/${agent}`);
      const v = await store.blocks.get(valueIds[Math.floor(rand() * valueIds.length)]);
      if (!v || v.length !== 1024) throw new Error('floor get: wrong value');
    };
    // A read at a root (an operation reading the version it started from): no head read.
    const { root } = await call('snapshot', { agent });
    const getAtRoot = async () => {
      const v = await call('get', { agent, key: keyOf(Math.floor(rand() * N)), root });
      if (!(v instanceof Uint8Array) || v.length !== 1024) throw new Error('get at root: wrong value');
    };
    const puts = { id: `${backend}.put`, fn: putOnce };
    const gets = { id: `${backend}.get`, fn: getOnce };
    const rgets = { id: `${backend}.get.root`, fn: getAtRoot };
    const fputs = { id: `${backend}.floor.put`, fn: floorPut };
    const fgets = { id: `${backend}.floor.get`, fn: floorGet };
    log(`[${backend}] put / get on random keys, and the store's own (the floor) …`);
    const stats = await measure([puts, gets, rgets, fputs, fgets], { timeMs: ms(tier === 'worker' ? 3000 : 2400), rounds: 2, minIterations: 16 });
    rows.push({ id: puts.id, group: backend, label: 'put 1 KiB, random key of 10k', stats: stats.get(puts.id) });
    rows.push({ id: gets.id, group: backend, label: 'get 1 KiB, random key of 10k', stats: stats.get(gets.id) });
    rows.push({ id: rgets.id, group: backend, label: 'get 1 KiB at a snapshot root (no head read)', stats: stats.get(rgets.id) });
    rows.push({ id: fputs.id, group: backend, label: `floor: store put of the same ${blocksPerPut.toFixed(1)} blocks + ref CAS`, stats: stats.get(fputs.id) });
    rows.push({ id: fgets.id, group: backend, label: 'floor: store ref read + get of 1 KiB', stats: stats.get(fgets.id) });
    log(`[${backend}] CPU per operation …`);
    const perOp = await cpuPerOp([puts, fputs, gets, rgets, fgets], { rounds: Math.max(3, Math.round(8 * scale)), n: tier === 'worker' ? 200 : 500 });
    cpu = {
      put: perOp.get(puts.id),
      floorPut: perOp.get(fputs.id),
      get: perOp.get(gets.id),
      getAtRoot: perOp.get(rgets.id),
      floorGet: perOp.get(fgets.id),
      bytesPerPut: perPut,
      blocksPerPut,
    };
  }

  if (opsOnly) {
    await kernel.stop();
    log(`[${backend}] done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const b of Object.values(bytes)) {
      delete b.state;
      delete b.before;
      delete b.after;
    }
    return { rows, bytes, cpu };
  }

  // 3. snapshot and restore (alternating between two roots, so every restore moves the head to a
  //    different tree and writes a commit), and the 1% apply that makes a new version.
  for (const size of [1024, 64]) {
    const { agent, salt } = bytes[size];
    const rand = rng(7 + size);
    // Two roots of the agent's recent history, one 1% apply apart: the put/get phase made thousands
    // of versions since the roots of step 2, past the 1,000 commits restore looks back through, and
    // a root out of reach makes restore re-put its whole tree (a gc guard), which is not what this
    // measures.
    const before = (await call('snapshot', { agent })).root;
    await call('apply', { agent, delta: { puts: pick(rand, N, N / 100).map((i) => [keyOf(i), valueOf(size, i, 999, salt)]) } });
    const after = (await call('snapshot', { agent })).root;
    let flip = 0;
    let gen = 1000;
    const tasks = [
      { id: `${backend}.snapshot.${size}`, fn: () => call('snapshot', { agent }) },
      { id: `${backend}.restore.${size}`, fn: () => call('restore', { agent, root: flip++ % 2 ? before : after }) },
      {
        id: `${backend}.apply1pct.${size}`,
        fn: () => {
          const g = gen++;
          return call('apply', { agent, delta: { puts: pick(rand, N, N / 100).map((i) => [keyOf(i), valueOf(size, i, g, salt)]) } });
        },
      },
    ];
    log(`[${backend}] snapshot / restore / 1% apply, ${size} B values …`);
    const stats = await measure(tasks, { timeMs: ms(tier === 'worker' ? 2400 : 1500), rounds: 1, minIterations: 8, warmupMs: 100 });
    const sl = size === 1024 ? '1 KiB' : '64 B';
    rows.push({ id: tasks[0].id, group: backend, label: `snapshot (10k × ${sl})`, stats: stats.get(tasks[0].id) });
    rows.push({ id: tasks[1].id, group: backend, label: `restore (10k × ${sl})`, stats: stats.get(tasks[1].id) });
    rows.push({ id: tasks[2].id, group: backend, label: `apply 1% = new version (10k × ${sl})`, stats: stats.get(tasks[2].id) });
  }

  // 4. Naive snapshot (encode + write) and restore (read + decode), timed by hand: a 1 KiB state is
  //    10 MB a snapshot. One value changes before each snapshot, so every snapshot writes new blocks.
  for (const size of [1024, 64]) {
    const { state, salt } = bytes[size];
    const runs = size === 1024 ? Math.max(3, Math.round(6 * scale)) : Math.max(5, Math.round(20 * scale));
    const snaps = [];
    const restores = [];
    let ids;
    log(`[${backend}] naive CBOR snapshot / restore, ${size} B values (${runs} runs) …`);
    for (let r = -1; r < runs; r++) {
      const k = keyOf(r + 1);
      state.set(k, valueOf(size, r + 1, 5000 + r, salt));
      collect();
      let t = performance.now();
      ids = (await naiveSnapshot(store.blocks, state)).ids;
      const snapMs = performance.now() - t;
      collect();
      t = performance.now();
      const back = await naiveRestore(store.blocks, ids);
      const restoreMs = performance.now() - t;
      if (Object.keys(back).length !== N) throw new Error('naive restore: wrong size');
      if (r >= 0) {
        snaps.push(snapMs);
        restores.push(restoreMs);
      } // r = -1 is the warm-up
    }
    const sl = size === 1024 ? '1 KiB' : '64 B';
    rows.push({ id: `${backend}.naive.snapshot.${size}`, group: backend, label: `naive CBOR snapshot (10k × ${sl})`, stats: summarise(snaps) });
    rows.push({ id: `${backend}.naive.restore.${size}`, group: backend, label: `naive CBOR restore (10k × ${sl})`, stats: summarise(restores) });
  }

  await kernel.stop();
  log(`[${backend}] done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const b of Object.values(bytes)) {
    delete b.state;
    delete b.before;
    delete b.after;
  }
  return { rows, bytes, cpu };
}

// ── Run ──────────────────────────────────────────────────────────────────────────────────────────
log(
  `mcp0 storage bench: node ${process.version}, ${os.cpus().length} cpus, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}${typeof globalThis.gc === 'function' ? '' : ' (no --expose-gc)'}`,
);
const results = {};
const loadAtStart = os.loadavg();
if (!only || only.has('memory')) {
  // The in-memory store: put and get only (the plugin's cost with a store that does little).
  const store = new MemoryStore();
  try {
    results.memory = await runBackend('memory', store, 'inline', { opsOnly: true });
  } finally {
    await store.close();
  }
}
if (!only || only.has('lmdb')) {
  const store = await openStore(`lmdb:${tmp('mcp0-bench-lmdb-')}`);
  try {
    results.lmdb = await runBackend('lmdb', store, 'inline');
  } finally {
    await store.close();
  }
}
let mongoNote;
if (!only || only.has('mongo')) {
  const bin = ferretdbPath();
  if (!bin) {
    mongoNote = 'MongoDB column skipped: no FerretDB binary (set MCP0_FERRETDB or run bash scripts/ferretdb/build.sh)';
    log(mongoNote);
  } else {
    const server = await startFerretdb(bin);
    const store = mongoTier === 'bridge' ? await MongoSyncStore.open(server.uri) : await openStore(server.uri);
    log(`[mongo] ${mongoTier === 'bridge' ? 'inline tier over MongoSyncStore (the synchronous bridge)' : 'worker tier over MongoStore'}`);
    try {
      results.mongo = await runBackend('mongo', store, mongoTier === 'bridge' ? 'inline' : 'worker');
    } finally {
      await store.close();
      await server.stop();
    }
  }
}
for (const d of tmps) rmSync(d, { recursive: true, force: true });

// ── Report ───────────────────────────────────────────────────────────────────────────────────────
const backends = Object.keys(results).filter((b) => b !== 'memory');
const allRows = Object.keys(results).flatMap((b) => results[b].rows);
const row = (id) => allRows.find((r) => r.id === id);
console.log(`\n${figuresTable(allRows)}\n`);

// Bytes.
const kb = (n) => `${(n / 1000).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })} KB`;
const pct = (a, b) => `${((100 * a) / b).toFixed(2)}%`;
const bHead = ['backend', 'values', 'full snapshot', '1% as one apply', 'ratio', '1% as 100 puts', 'ratio', 'naive CBOR / snapshot', 'naive / one apply'];
const bLines = [];
for (const b of backends) {
  for (const size of [1024, 64]) {
    const x = results[b].bytes[size];
    bLines.push([
      b,
      size === 1024 ? '1 KiB (out of line)' : '64 B (inline)',
      `${kb(x.full.bytes)} (${x.full.nodes} nodes)`,
      `${kb(x.batch.bytes)} (${x.batch.blocks} blocks)`,
      pct(x.batch.bytes, x.full.bytes),
      `${kb(x.single.bytes)} (${x.single.blocks} blocks)`,
      pct(x.single.bytes, x.full.bytes),
      `${kb(x.naive.bytes)} (${x.naive.blocks} block${x.naive.blocks > 1 ? 's' : ''})`,
      `${(x.naive.bytes / x.batch.bytes).toFixed(1)}×`,
    ]);
  }
}
const widths = bHead.map((h, i) => Math.max(h.length, ...bLines.map((l) => l[i].length)));
const render = (cells) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
console.log('new block bytes written by a 1% random change (100 of 10,000 keys), against a full snapshot');
console.log([render(bHead), widths.map((w) => '─'.repeat(w)).join('  '), ...bLines.map(render)].join('\n'));
for (const b of backends) {
  const x = results[b].bytes;
  console.log(
    `[${b}] build 10k × 1 KiB ${(x[1024].buildMs / 1000).toFixed(2)} s, 10k × 64 B ${(x[64].buildMs / 1000).toFixed(2)} s (${N / CHUNK} applies of ${CHUNK}); counted 1% apply ${x[1024].tApply.toFixed(1)} / ${x[64].tApply.toFixed(1)} ms, 100 counted puts ${x[1024].tPuts.toFixed(0)} / ${x[64].tPuts.toFixed(0)} ms (1 KiB / 64 B)`,
  );
}
// The byte counts differ a little between stores: each agent's node boundaries follow a salt drawn
// at its first write (plugins/storage/README.md), so the same keys split differently in each store.

// Ratios.
const ratios = [];
if (backends.length === 2) {
  for (const id of ['put', 'get', 'snapshot.1024', 'restore.1024', 'apply1pct.1024', 'apply1pct.64', 'naive.snapshot.1024', 'naive.restore.1024']) {
    ratios.push(ratio(`mongo / lmdb: ${id}`, row(`mongo.${id}`), row(`lmdb.${id}`)));
  }
}
for (const b of backends) {
  for (const size of [1024, 64]) {
    ratios.push(ratio(`${b} ${size} B: naive snapshot / 1% apply`, row(`${b}.naive.snapshot.${size}`), row(`${b}.apply1pct.${size}`)));
    ratios.push(ratio(`${b} ${size} B: naive restore / restore`, row(`${b}.naive.restore.${size}`), row(`${b}.restore.${size}`)));
  }
  ratios.push(ratio(`${b}: put / get`, row(`${b}.put`), row(`${b}.get`)));
}
for (const b of Object.keys(results)) {
  ratios.push(ratio(`${b}: put / floor put (wall)`, row(`${b}.put`), row(`${b}.floor.put`)));
  ratios.push(ratio(`${b}: get / floor get (wall)`, row(`${b}.get`), row(`${b}.floor.get`)));
}
console.log(`\n${ratiosTable(ratios)}`);

// CPU per operation against the floor, and the targets: what the plugin adds to the store's own
// work, ≤ 250 µs a put and ≤ 50 µs a get at 10,000 keys; a 1% random change ≤ 5% of a full snapshot.
const us = (n) => `${n.toFixed(0)} µs`;
const cHead = ['backend', 'put CPU', 'floor', 'put − floor', 'put / floor', 'get CPU', 'floor', 'get − floor', 'get / floor', 'get at root', 'bytes per put'];
const cLines = Object.keys(results)
  .filter((b) => results[b].cpu)
  .map((b) => {
    const x = results[b].cpu;
    return [
      b,
      us(x.put),
      us(x.floorPut),
      us(x.put - x.floorPut),
      `${(x.put / x.floorPut).toFixed(2)}×`,
      us(x.get),
      us(x.floorGet),
      us(x.get - x.floorGet),
      `${(x.get / x.floorGet).toFixed(2)}×`,
      us(x.getAtRoot),
      `${(x.bytesPerPut / 1000).toFixed(1)} KB in ${x.blocksPerPut.toFixed(1)} blocks`,
    ];
  });
const cWidths = cHead.map((h, i) => Math.max(h.length, ...cLines.map((l) => l[i].length)));
const cRender = (cells) => cells.map((c, i) => (i >= 1 ? c.padStart(cWidths[i]) : c.padEnd(cWidths[i]))).join('  ');
console.log("\nCPU per operation (user + system, every thread; median of rounds), beside the store's own put and get of the same bytes");
console.log([cRender(cHead), cWidths.map((w) => '─'.repeat(w)).join('  '), ...cLines.map(cRender)].join('\n'));
for (const b of Object.keys(results).filter((k) => results[k].cpu)) {
  const x = results[b].cpu;
  console.log(
    `[${b}] targets: put − floor ${us(x.put - x.floorPut)} ≤ 250 µs: ${x.put - x.floorPut <= 250 ? 'PASS' : 'FAIL'}; get − floor ${us(x.get - x.floorGet)} ≤ 50 µs: ${x.get - x.floorGet <= 50 ? 'PASS' : 'FAIL'}`,
  );
}
for (const b of backends) {
  const x = results[b].bytes[1024];
  console.log(
    `[${b}] 1% random change as one apply: ${pct(x.batch.bytes, x.full.bytes)} of a full snapshot, target ≤ 5%: ${x.batch.bytes <= 0.05 * x.full.bytes ? 'PASS' : 'FAIL'}`,
  );
}
console.log(`load average at the start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
if (mongoNote) console.log(`\n${mongoNote}`);
console.log(
  `\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
