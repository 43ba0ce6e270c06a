// The storage plugin's behavioural contract on each store: memory and LMDB (inline tier) and MongoDB
// (FerretDB 1.24.2, worker tier, because that store answers asynchronously). Concurrent writers,
// kill -9 mid write burst and mid gc, corrupted blocks, limits and hostile input to every export.
// MongoDB never skips silently in CI: startMongo() throws there when no server is available.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor, type Mcp0Error } from '@mcp0/abi';
import type { BlockProvider, Kernel, Tier } from '@mcp0/kernel';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { MemoryStore, collectGarbage, openStore, type Store, type StoreDamage, type StoreFaults } from '@mcp0/sdk';
import { MongoSyncStore } from '@mcp0/sdk/mongo';
import { startMongo } from '../../../test/mongo-server.js';
import { NAME, boot, bytes, reachable, sha, storageWasm, unsignedPath } from './harness.js';

const mongo = await startMongo();
const fixture = join(import.meta.dirname, 'child.fixture.mjs');
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EXPORTS = ['get', 'put', 'delete', 'list', 'snapshot', 'restore', 'diff', 'apply', 'history', 'gc'];

interface Backend {
  tier: Tier;
  /** A fresh, empty store opened with `faults`, and its URI when another process can open it (durable stores). */
  open(faults: StoreFaults): Promise<{ store: Store; uri?: string }>;
  /** Opens the store at `uri` again, as after a restart. */
  reopen?(uri: string): Promise<Store>;
}

/** A fresh database on the test server. */
function freshMongoUri(): string {
  const [head, query] = mongo!.uri.split('?') as [string, string | undefined];
  const hosts = /^mongodb(?:\+srv)?:\/\/[^/]*/i.exec(head)![0];
  return `${hosts}/mcp0_storage_${randomUUID().replaceAll('-', '').slice(0, 16)}${query ? `?${query}` : ''}`;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const backends: [string, Backend | null][] = [
  ['memory', { tier: 'inline', open: async (faults) => ({ store: new MemoryStore({ faults }) }) }],
  [
    'LMDB',
    {
      tier: 'inline',
      open: async (faults) => {
        const dir = mkdtempSync(join(tmpdir(), 'mcp0-storage-contract-'));
        dirs.push(dir);
        return { store: LmdbStore.open(dir, { faults }), uri: `lmdb:${dir}` };
      },
    },
  ],
  [
    'MongoDB (worker tier)',
    mongo && {
      tier: 'worker',
      open: async (faults) => {
        const uri = freshMongoUri();
        return { store: await openStore(uri, { faults }), uri };
      },
    },
  ],
  [
    'MongoDB (inline tier, sync bridge)',
    mongo && {
      tier: 'inline',
      open: async (faults) => {
        const uri = freshMongoUri();
        return { store: await MongoSyncStore.open(uri, { faults }), uri };
      },
      reopen: (uri) => MongoSyncStore.open(uri),
    },
  ],
];
afterAll(async () => mongo?.stop());

/** Every stored block id (hex). */
async function stored(store: Store): Promise<Set<string>> {
  const out = new Set<string>();
  for (let after: Uint8Array | undefined; ; ) {
    const rows = await store.listBlocks(after, 1000);
    rows.forEach((r) => out.add(hexOf(r.id)));
    if (rows.length < 1000) return out;
    after = rows.at(-1)!.id;
  }
}

/** `f` applied to a value now or later, keeping a synchronous answer synchronous (the inline tier needs it). */
function then<T, U>(v: T | Promise<T>, f: (x: T) => U | Promise<U>): U | Promise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** The value the child fixture writes under /c/<i>. */
const childValue = (i: number): Uint8Array => bytes(i % 3 === 0 ? `value ${i} `.repeat(20) : `v${i}`);

/** Runs the child fixture until `until` says stop on one of its lines, then SIGKILLs it. */
function runChild(args: string[], until: (line: string, lines: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child timed out after 60 s; stderr:\n${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!killed && until(line, lines)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && killed) resolve(lines);
      else reject(new Error(`child ended (${code ?? signal}) before it was killed; stderr:\n${stderr}`));
    });
  });
}

describe.each(backends)('mcp0.storage contract on %s', (name, backend) => {
  if (!backend) {
    it.skip(`${name}: no server (set MCP0_FERRETDB or MONGODB_URI; CI fails instead of skipping)`, () => {});
    return;
  }
  let store: Store;
  let uri: string | undefined;
  /** How the corruption test damages `store` (handed over when it opens). */
  let damage: StoreDamage | undefined;
  let kernel: Kernel;
  const call = (exp: string, input: unknown) => kernel.callValue(NAME, exp, input as never) as Promise<any>;
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      return (e as Mcp0Error).code;
    }
    return 'ok';
  };

  beforeAll(async () => {
    ({ store, uri } = await backend.open({ opened: (d) => (damage = d) }));
    kernel = await boot(store.blocks, backend.tier);
    await storageWasm(); // leaves the unsigned build at unsignedPath for the child processes
  });
  afterAll(async () => {
    await kernel?.stop();
    await store?.close();
  });

  it('concurrent writers on one agent: every acknowledged put is kept, every failure is a typed ECONFLICT', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, () => boot(store.blocks, 'worker')));
    try {
      const outcomes = await Promise.all(
        writers.map(async (w, n) => {
          const out: [string, string][] = [];
          for (let i = 0; i < 12; i++) {
            const k = `/w${n}/${i}`;
            try {
              await w.callValue(NAME, 'put', { agent: 'contended', key: k, value: bytes(k) });
              out.push([k, 'ok']);
            } catch (e) {
              out.push([k, (e as Mcp0Error).code]);
            }
          }
          return out;
        }),
      );
      const all = outcomes.flat();
      for (const [, code] of all) expect(['ok', 'ECONFLICT']).toContain(code);
      const acked = all
        .filter(([, c]) => c === 'ok')
        .map(([k]) => k)
        .sort();
      const page = await call('list', { agent: 'contended', limit: 1000 });
      expect(page.entries.map(([k]: [string]) => k).sort()).toEqual(acked);
      for (const [k, v] of page.entries) expect(v).toEqual(bytes(k));
      // One version per acknowledged put: no write overwrote another's commit.
      expect((await call('history', { agent: 'contended', limit: 1000 })).roots.length).toBe(acked.length);
    } finally {
      await Promise.all(writers.map((w) => w.stop()));
    }
  });

  it('a writer that keeps losing the CAS reports ECONFLICT after its retries, and the winner loses nothing', async () => {
    await call('put', { agent: 'loser', key: '/base', value: bytes('base') });
    let stolen = 0;
    // Another writer moves the head (to the same commit) right before each of our plugin's CAS.
    const rival: BlockProvider = {
      put: (l) => store.blocks.put(l),
      get: (id) => store.blocks.get(id),
      has: (ids) => store.blocks.has(ids),
      refGet: (ns, n) => store.blocks.refGet(ns, n),
      refCas: (ns, n, expect, root) =>
        then(store.blocks.refGet(ns, n), (cur) =>
          then(store.blocks.refCas(ns, n, cur!.version, cur!.root), () => {
            stolen++;
            return store.blocks.refCas(ns, n, expect, root);
          }),
        ),
    };
    const k2 = await boot(rival, backend.tier);
    try {
      const before = (await store.blocks.refGet(NAME, 'head/loser'))!.version;
      const e = await k2.callValue(NAME, 'put', { agent: 'loser', key: '/mine', value: bytes('x') }).catch((x: Mcp0Error) => x);
      expect(e).toMatchObject({ code: 'ECONFLICT', message: expect.stringContaining('loser') });
      expect(stolen).toBe(5);
      expect((await store.blocks.refGet(NAME, 'head/loser'))!.version).toBe(before + 5); // every rival write kept
      expect(await call('get', { agent: 'loser', key: '/mine' })).toBeNull();
      expect(await call('get', { agent: 'loser', key: '/base' })).toEqual(bytes('base'));
    } finally {
      await k2.stop();
    }
  });

  it('reports a corrupted block as a typed EINTERNAL, never as data (a warm plugin may answer from its verified cache)', async () => {
    const big = new Uint8Array(randomBytes(4000));
    await call('put', { agent: 'rot', key: '/big', value: big });
    await call('put', { agent: 'rot', key: '/small', value: bytes('small') });
    const corrupt = (id: Uint8Array, b: Uint8Array) => damage!.corruptBlock(id, b);
    // A plugin instance that has not read anything yet (the running one caches what it wrote or read).
    const fresh = async <T>(work: (c: typeof call) => Promise<T>): Promise<T> => {
      const k = await boot(store.blocks, backend.tier);
      try {
        return await work((exp, input) => k.callValue(NAME, exp, input as never) as Promise<any>);
      } finally {
        await k.stop();
      }
    };
    const answer = (p: Promise<unknown>) =>
      p.then(
        (v) => v,
        (e: Mcp0Error) => e.code,
      );
    await corrupt(sha(big), new Uint8Array(randomBytes(4000)));
    // The warm instance verified these blocks when it wrote them: the right bytes, or the error.
    const warm = await answer(call('get', { agent: 'rot', key: '/big' }));
    expect(warm === 'EINTERNAL' || Buffer.from(warm as Uint8Array).equals(Buffer.from(big))).toBe(true);
    await fresh(async (c) => {
      expect(await codeOf(c('get', { agent: 'rot', key: '/big' }))).toBe('EINTERNAL');
      expect(await codeOf(c('list', { agent: 'rot' }))).toBe('EINTERNAL');
      expect(await c('get', { agent: 'rot', key: '/small' })).toEqual(bytes('small')); // inline in the leaf
    });
    // The tree's root node (a leaf here) corrupted: nothing is read from it.
    const { root } = await call('snapshot', { agent: 'rot' });
    const node = (await store.blocks.get(root))!;
    const tampered = node.slice();
    tampered[tampered.length - 1]! ^= 1;
    await corrupt(root, tampered);
    for (const [exp, input] of [
      ['get', { agent: 'rot', key: '/small' }],
      ['put', { agent: 'rot', key: '/n', value: bytes('n') }],
      ['diff', { rootA: root, rootB: root }],
    ] as const) {
      expect(await fresh((c) => codeOf(c(exp, input))), exp).toBe('EINTERNAL');
    }
    const small = await answer(call('get', { agent: 'rot', key: '/small' }));
    expect(small === 'EINTERNAL' || Buffer.from(small as Uint8Array).equals(Buffer.from(bytes('small')))).toBe(true);
    await corrupt(root, node);
    await corrupt(sha(big), big);
    expect(await call('get', { agent: 'rot', key: '/big' })).toEqual(big);
    expect(await fresh((c) => c('get', { agent: 'rot', key: '/big' }))).toEqual(big);
  });

  it('refuses oversized keys and values with ETOOBIG naming the limit, and takes the largest allowed', async () => {
    const k = 'k'.repeat(1025);
    for (const [exp, input] of [
      ['get', { agent: 'big', key: k }],
      ['put', { agent: 'big', key: k, value: bytes('v') }],
      ['delete', { agent: 'big', key: k }],
      ['list', { agent: 'big', prefix: k }],
      ['apply', { agent: 'big', delta: { puts: [[k, bytes('v')]] } }],
      ['put', { agent: 'big', key: '/v', value: new Uint8Array((1 << 20) + 1) }],
      ['put', { agent: 'a'.repeat(201), key: '/v', value: bytes('v') }],
    ] as const) {
      const e = await call(exp, input).catch((x: Mcp0Error) => x);
      expect(e, exp).toMatchObject({ code: 'ETOOBIG', message: expect.stringMatching(/limit is (1024|1048576|200)/) });
    }
    const max = new Uint8Array(randomBytes(1 << 20));
    await call('put', { agent: 'big', key: 'k'.repeat(1024), value: max });
    expect(await call('get', { agent: 'big', key: 'k'.repeat(1024) })).toEqual(max);
  });

  it('answers hostile input to every export with EINPUT or ETOOBIG, and keeps serving', async () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const wrong = [null, 7, -1, 'x', new Uint8Array(3), [], [1, 'a'], { a: 1 }, true, 1.5];
    for (const exp of EXPORTS) {
      const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array([0xff]), encodeCbor([1, 2, 3]), encodeCbor('text')];
      for (let i = 0; i < 6; i++) inputs.push(new Uint8Array(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
      const good = encodeCbor({
        agent: 'hostile',
        key: 'k',
        value: bytes('v'),
        root: new Uint8Array(32),
        rootA: new Uint8Array(32),
        rootB: new Uint8Array(32),
        delta: {},
      });
      for (let cut = 1; cut < good.length; cut += 9) inputs.push(good.subarray(0, cut));
      for (const field of ['agent', 'key', 'value', 'root', 'rootA', 'rootB', 'delta', 'prefix', 'limit', 'cursor', 'keep', 'after', 'expect']) {
        for (const w of wrong)
          inputs.push(
            encodeCbor({
              agent: 'hostile',
              key: 'k',
              value: bytes('v'),
              root: new Uint8Array(32),
              rootA: new Uint8Array(32),
              rootB: new Uint8Array(32),
              delta: {},
              [field]: w,
            } as never),
          );
      }
      for (const raw of inputs) {
        const code = await kernel.call(NAME, exp, raw).then(
          () => 'ok',
          (e: Mcp0Error) => e.code,
        );
        // Some mutations are valid input (e.g. a wrong type in a field this export ignores, or an
        // apply that expects a head version the agent is not at: ECONFLICT).
        expect(['ok', 'EINPUT', 'ETOOBIG', 'ENOTFOUND', 'ECONFLICT'], `${exp} ${hexOf(raw).slice(0, 80)}`).toContain(code);
      }
    }
    await call('put', { agent: 'hostile', key: '/after', value: bytes('still serving') });
    expect(await call('get', { agent: 'hostile', key: '/after' })).toEqual(bytes('still serving'));
  });

  const durable = name !== 'memory'; // the crash cases need a store another process can open
  it.runIf(durable)('kill -9 mid write burst: every acknowledged snapshot restores, no root dangles', async () => {
    const agent = 'crashy';
    const lines = await runChild(['write', uri!, unsignedPath, backend.tier, agent], (line, all) => all.length >= 25 && line !== 'ready');
    const acks = lines
      .filter((l) => l !== 'ready')
      .map((l) => {
        const [i, root] = l.split(' ');
        return { i: Number(i), root: root! };
      });
    expect(acks.length).toBeGreaterThanOrEqual(20);
    // A fresh view of the store (as after a restart) sees what the child wrote.
    const again = await (backend.reopen ?? openStore)(uri!);
    const k2 = await boot(again.blocks, backend.tier);
    try {
      const c2 = (exp: string, input: unknown) => k2.callValue(NAME, exp, input as never) as Promise<any>;
      await reachable(again.blocks, agent); // every block the head reaches is there
      const head = await c2('list', { agent, limit: 1000 });
      const last = acks.at(-1)!.i;
      // The head holds at least every acknowledged put (one more if its CAS landed before the kill).
      expect([last, last + 1]).toContain(head.entries.length);
      const sample = [acks[0]!, acks[Math.floor(acks.length / 2)]!, acks.at(-1)!];
      for (const { i, root } of sample) {
        await c2('restore', { agent: 'restored', root: Buffer.from(root, 'hex') });
        const page = await c2('list', { agent: 'restored', limit: 1000 });
        expect(page.entries.length).toBe(i);
        for (const [k, v] of page.entries) expect(v).toEqual(childValue(Number(k.slice(3))));
      }
    } finally {
      await k2.stop();
      await again.close();
    }
  });

  it.runIf(durable)('kill -9 mid gc: no live block is lost, and the next gc finishes the sweep exactly', async () => {
    const models = new Map<string, Map<string, Uint8Array>>();
    for (const agent of ['g1', 'g2']) {
      const m = new Map<string, Uint8Array>();
      for (let v = 0; v < 4; v++) {
        const puts: [string, Uint8Array][] = Array.from({ length: 30 }, (_, i) => [`/g/${(v * 11 + i) % 50}`, new Uint8Array(randomBytes(i % 2 ? 100 : 20))]);
        puts.forEach(([k, val]) => m.set(k, val));
        await call('apply', { agent, delta: { puts } });
      }
      models.set(agent, m);
    }
    await store.blocks.put(Array.from({ length: 30 }, () => new Uint8Array(randomBytes(80)))); // interrupted writes
    await sleep(10);
    const lines = await runChild(['gc', uri!, unsignedPath, backend.tier, '1'], (line, all) => all.filter((l) => l === 'd').length >= 5);
    expect(lines.filter((l) => l === 'd').length).toBeGreaterThanOrEqual(5);
    expect(lines.some((l) => l.startsWith('done'))).toBe(false); // killed mid-sweep
    const again = await (backend.reopen ?? openStore)(uri!);
    const k2 = await boot(again.blocks, backend.tier);
    try {
      const c2 = (exp: string, input: unknown) => k2.callValue(NAME, exp, input as never) as Promise<any>;
      for (const [agent, m] of models) {
        await reachable(again.blocks, agent);
        const page = await c2('list', { agent, limit: 1000 });
        expect(new Map(page.entries)).toEqual(m);
      }
      await sleep(5);
      await collectGarbage({ store: again, call: c2, graceMs: 0 });
      const expected = new Set<string>();
      for (const n of await again.listRefs(NAME, 'head/', 1000)) await reachable(again.blocks, n.slice(5), expected);
      expect([...(await stored(again))].sort()).toEqual([...expected].sort());
    } finally {
      await k2.stop();
      await again.close();
    }
  });
});
