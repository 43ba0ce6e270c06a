/**
 * The mcp0.storage@1 role suite: the contract of plugins/storage/README.md, run against the plugin
 * under test through a real kernel over an SDK memory store as the blocks provider. Each case uses
 * its own fresh kernel and store, so one failure cannot hide or cause another.
 */
import type { BlockProvider } from '@mcp0/kernel';
import { MemoryStore, type CorruptHook } from '@mcp0/sdk';
import { Mcp0Error } from '@mcp0/abi';
import { CaseFailure, CaseSkip, check, type Case, type Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';
import { bench, type Bench } from '../harness.js';
import { brief, caller, canonical, failure, sameBytes, type Caller } from './call.js';

/**
 * The role id.
 * @example
 * registerRoleSuite(STORAGE_ROLE, mySuite) // replaces the standard suite
 */
export const STORAGE_ROLE = 'mcp0.storage@1';

/** The storage suite's context: the subject. */
interface StorageContext {
  subject: PluginSubject;
}

type Root = { root: Uint8Array };
type Page = { entries: [string, Uint8Array][]; cursor: string | null };

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Runs `work` against a fresh bench of the subject, closing it afterwards. */
async function withPlugin<T>(subject: PluginSubject, work: (call: Caller, b: Bench) => Promise<T>, blocks?: BlockProvider, store?: MemoryStore): Promise<T> {
  const b = await bench(subject, blocks ? { providers: { blocks } } : {});
  try {
    return await work(caller(b.kernel, b.module.name), b);
  } finally {
    await b.close();
    await store?.close();
  }
}

/** Every entry of an agent, page by page. */
async function listAll(call: Caller, agent: string, prefix: string, limit: number): Promise<[string, Uint8Array][]> {
  const all: [string, Uint8Array][] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 10_000; pages++) {
    const page: Page = await call('list', { agent, prefix, limit, cursor });
    check(Array.isArray(page?.entries), `list: expected {entries, cursor}, got ${brief(page)}`);
    check(page.entries.length <= limit, `list: expected at most ${limit} entries per page, got ${page.entries.length}`);
    all.push(...page.entries);
    if (page.cursor === null) return all;
    check(typeof page.cursor === 'string', `list: expected cursor text or null, got ${brief(page.cursor)}`);
    cursor = page.cursor;
  }
  throw new CaseFailure('list: expected the pages to end, got a cursor after 10,000 pages');
}

/** Fails unless `get {agent, key}` gives exactly `truth` (bytes, or null for absent), naming what came. */
async function expectGet(call: Caller, agent: string, key: string, truth: Uint8Array | null, what: string): Promise<void> {
  const got = await call('get', { agent, key });
  const ok = truth === null ? got === null : sameBytes(got, truth);
  check(ok, `get ${key} ${what}: expected ${truth === null ? 'null' : `the ${truth.length} bytes ${brief(new TextDecoder().decode(truth.subarray(0, 24)))}`}, got ${got instanceof Uint8Array ? `${got.length} bytes ${brief(new TextDecoder().decode(got.subarray(0, 24)))}` : brief(got)}`);
}

/** Byte order of UTF-8 keys, as the contract sorts. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Fails unless `got` (a list of entries) equals the model exactly, naming the first difference. */
function sameEntries(what: string, got: [string, Uint8Array][], model: Map<string, Uint8Array>): void {
  const want = [...model].sort(([a], [b]) => byBytes(a, b));
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || g[0] !== w[0] || !sameBytes(g[1], w[1])) {
      throw new CaseFailure(`${what}: expected entry #${i} to be ${w ? `${JSON.stringify(w[0])} (${w[1].length} bytes)` : 'the end'}, got ${g ? `${JSON.stringify(g[0])} (${g[1]?.length} bytes)` : 'the end'}`, { index: i });
    }
  }
}

const roundTrip: Case<StorageContext> = {
  name: 'put, get, overwrite and delete',
  run: ({ subject }) => withPlugin(subject, async (call) => {
    const a = 'agent-rw';
    await expectGet(call, a, '/k', null, 'of a key never written');
    const small = bytes('small');
    const big = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
    const put: Root = await call('put', { agent: a, key: '/k', value: small });
    check(put?.root instanceof Uint8Array && put.root.length === 32, `put: expected {root: 32 bytes}, got ${brief(put)}`);
    await call('put', { agent: a, key: '/big', value: big });
    await call('put', { agent: a, key: '/empty', value: new Uint8Array(0) });
    for (const [k, v] of [['/k', small], ['/big', big], ['/empty', new Uint8Array(0)]] as const) {
      const got = await call('get', { agent: a, key: k });
      check(sameBytes(got, v), `get ${k}: expected the ${v.length} bytes put, got ${brief(got)}`);
    }
    await call('put', { agent: a, key: '/k', value: big });
    await expectGet(call, a, '/k', big, 'after an overwrite');
    const d1 = await call('delete', { agent: a, key: '/k' });
    check(d1?.existed === true, `delete of a present key: expected {existed: true}, got ${brief(d1)}`);
    const d2 = await call('delete', { agent: a, key: '/k' });
    check(d2?.existed === false, `delete of an absent key: expected {existed: false}, got ${brief(d2)}`);
    await expectGet(call, a, '/k', null, 'after its delete');
    await expectGet(call, a, '/big', big, 'after another key was deleted');
  }),
};

const listing: Case<StorageContext> = {
  name: 'list by prefix, in key order, with cursor pages',
  run: ({ subject }) => withPlugin(subject, async (call) => {
    const a = 'agent-list';
    const model = new Map<string, Uint8Array>();
    const keys = ['/n/b', '/n/a', '/n/é', '/n/z', '/n/a/1', '/o/x', '/n', '/m', '/n/😀', '/n/Z'];
    for (let i = 0; i < 40; i++) keys.push(`/n/p/${(i * 7) % 40}`);
    for (const k of keys) {
      const v = bytes(`v:${k}`);
      await call('put', { agent: a, key: k, value: v });
      model.set(k, v);
    }
    const under = new Map([...model].filter(([k]) => k.startsWith('/n/')));
    sameEntries('list prefix /n/ (pages of 3)', await listAll(call, a, '/n/', 3), under);
    sameEntries('list prefix /n/ (one page)', await listAll(call, a, '/n/', 1000), under);
    sameEntries('list everything', await listAll(call, a, '', 7), model);
    const none: Page = await call('list', { agent: a, prefix: '/nothing/' });
    check(none?.entries?.length === 0 && none.cursor === null, `list of an empty prefix: expected no entries and a null cursor, got ${brief(none)}`);
  }),
};

const snapshots: Case<StorageContext> = {
  name: 'snapshot and restore',
  run: ({ subject }) => withPlugin(subject, async (call, b) => {
    const a = 'agent-snap';
    const empty: Root = await call('snapshot', { agent: a });
    await call('put', { agent: a, key: '/x', value: bytes('1') });
    const s1: Root = await call('snapshot', { agent: a });
    await call('put', { agent: a, key: '/x', value: bytes('2') });
    await call('put', { agent: a, key: '/y', value: bytes('3') });
    const s2: Root = await call('snapshot', { agent: a });
    check(!sameBytes(s1.root, s2.root), 'snapshot: expected different roots for different contents, got the same');
    const r = await call('restore', { agent: a, root: s1.root });
    check(sameBytes(r?.root, s1.root), `restore: expected {root} of the snapshot, got ${brief(r)}`);
    await expectGet(call, a, '/x', bytes('1'), 'after restoring snapshot 1');
    await expectGet(call, a, '/y', null, 'after restoring snapshot 1 (it was written later)');
    check(sameBytes((await call('snapshot', { agent: a })).root, s1.root), 'snapshot after restore: expected the restored root');
    await call('restore', { agent: a, root: s2.root });
    await expectGet(call, a, '/y', bytes('3'), 'after restoring snapshot 2');
    await call('restore', { agent: a, root: empty.root });
    await expectGet(call, a, '/x', null, 'after restoring the empty snapshot');
    const missing = await failure(b.kernel.callValue(b.module.name, 'restore', { agent: a, root: new Uint8Array(32).fill(9) }), 'restore of a root that does not exist');
    check(missing.code === 'ENOTFOUND', `restore of a root that does not exist: expected ENOTFOUND, got ${missing.code}: ${missing.message}`);
  }),
};

const diffApply: Case<StorageContext> = {
  name: 'diff and apply round trip',
  run: ({ subject }) => withPlugin(subject, async (call) => {
    const base: [string, Uint8Array][] = Array.from({ length: 60 }, (_, i) => [`/d/${i}`, bytes(`base ${i}`)]);
    const a: Root = await call('apply', { agent: 'diff-a', delta: { puts: base, deletes: [] } });
    await call('apply', { agent: 'diff-b', delta: { puts: base, deletes: [] } });
    const b: Root = await call('apply', { agent: 'diff-b', delta: { puts: [['/d/3', bytes('changed')], ['/d/new', new Uint8Array(3000).fill(5)]], deletes: ['/d/7', '/d/8'] } });
    const same = await call('diff', { rootA: a.root, rootB: a.root });
    check(same?.puts?.length === 0 && same?.deletes?.length === 0, `diff of a root with itself: expected no puts and no deletes, got ${brief(same)}`);
    const d = await call('diff', { rootA: a.root, rootB: b.root });
    const putKeys = (d?.puts ?? []).map(([k]: [string]) => k).sort(byBytes);
    check(JSON.stringify(putKeys) === JSON.stringify(['/d/3', '/d/new']), `diff: expected puts of /d/3 and /d/new, got ${brief(putKeys)}`);
    check(JSON.stringify([...(d?.deletes ?? [])].sort(byBytes)) === JSON.stringify(['/d/7', '/d/8']), `diff: expected deletes of /d/7 and /d/8, got ${brief(d?.deletes)}`);
    const applied: Root = await call('apply', { agent: 'diff-a', delta: d });
    check(sameBytes(applied.root, b.root), 'apply(diff(a, b)) onto a: expected the root of b (the same content gives the same root), got another root');
    const model = new Map(base);
    model.set('/d/3', bytes('changed')).set('/d/new', new Uint8Array(3000).fill(5));
    model.delete('/d/7');
    model.delete('/d/8');
    sameEntries('list after apply(diff)', await listAll(call, 'diff-a', '', 1000), model);
  }),
};

const history: Case<StorageContext> = {
  name: 'history, newest first',
  run: ({ subject }) => withPlugin(subject, async (call) => {
    const a = 'agent-history';
    const roots: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) roots.push((await call('put', { agent: a, key: `/h/${i}`, value: bytes(String(i)) }) as Root).root);
    const h = await call('history', { agent: a, limit: 10 });
    check(Array.isArray(h?.roots), `history: expected {roots: [...]}, got ${brief(h)}`);
    const want = [...roots].reverse();
    check(h.roots.length >= want.length, `history: expected at least the ${want.length} roots written, got ${h.roots.length}`);
    want.forEach((r, i) => check(sameBytes(h.roots[i], r), `history: expected root #${i} to be the root of put #${want.length - 1 - i} (newest first), got ${brief(h.roots[i])}`));
    const two = await call('history', { agent: a, limit: 2 });
    check(two?.roots?.length === 2, `history with limit 2: expected 2 roots, got ${brief(two)}`);
  }),
};

const gc: Case<StorageContext> = {
  name: 'gc keeps what the head reaches',
  run: ({ subject }) => {
    if (!subject.manifest.exports.some((e) => e.name === 'gc')) throw new CaseSkip('the plugin does not export gc');
    return withPlugin(subject, async (call) => {
      const a = 'agent-gc';
      const model = new Map<string, Uint8Array>();
      for (let i = 0; i < 20; i++) {
        const v = new Uint8Array(200 + i * 100).fill(i);
        await call('put', { agent: a, key: `/g/${i % 7}`, value: v });
        model.set(`/g/${i % 7}`, v);
      }
      const out = await call('gc', { agent: a, keep: 1 });
      check(out !== null && typeof out === 'object', `gc: expected a report map, got ${brief(out)}`);
      sameEntries('list after gc', await listAll(call, a, '', 1000), model);
    });
  },
};

const limits: Case<StorageContext> = {
  name: 'limits: oversized keys and values are ETOOBIG',
  run: ({ subject }) => withPlugin(subject, async (_call, b) => {
    const name = b.module.name;
    const k = 'k'.repeat(1025);
    for (const [exp, input] of [
      ['get', { agent: 'big', key: k }], ['put', { agent: 'big', key: k, value: bytes('v') }], ['delete', { agent: 'big', key: k }],
      ['apply', { agent: 'big', delta: { puts: [[k, bytes('v')]], deletes: [] } }],
      ['put', { agent: 'big', key: '/v', value: new Uint8Array((1 << 20) + 1) }],
    ] as const) {
      const e = await failure(b.kernel.callValue(name, exp, input as never), `${exp} over the limit`);
      check(e.code === 'ETOOBIG', `${exp} with a ${exp === 'put' && 'value' in input && input.value.length > 1000 ? '1 MiB + 1 value' : '1,025-byte key'}: expected ETOOBIG, got ${e.code}: ${e.message}`);
    }
    const max = new Uint8Array(1 << 20).fill(3);
    await _call('put', { agent: 'big', key: 'k'.repeat(1024), value: max });
    check(sameBytes(await _call('get', { agent: 'big', key: 'k'.repeat(1024) }), max), 'the largest key and value allowed: expected them stored and read back');
  }),
};

/** Reads that must give a typed error or exactly the truth, never other data. */
async function typedOrTrue(b: Bench, reads: readonly (readonly [string, Record<string, unknown>, unknown])[], when: string): Promise<void> {
  for (const [exp, input, truth] of reads) {
    let got: unknown;
    try {
      got = await b.kernel.callValue(b.module.name, exp, input as never);
    } catch (e) {
      if (e instanceof Mcp0Error) continue; // refused: the contract holds
      throw new CaseFailure(`${exp} ${brief(input)} ${when}: expected a typed error, got ${String(e)}`);
    }
    check(truth !== undefined && canonical(got) === canonical(truth),
      `${exp} ${brief(input)} ${when}: expected a typed error or exactly the data stored, got other data: ${brief(got)}`);
  }
}

const corrupted: Case<StorageContext> = {
  name: 'corrupted block: a typed error, never wrong data',
  async run({ subject }) {
    // Bit rot inside the store (the store checks ids on read and reports EINTERNAL): the plugin
    // must pass the failure on as a typed error, never treat it as absence or return other data.
    const store = new MemoryStore();
    const rot = (id: Uint8Array, bytes: Uint8Array) => (store as MemoryStore & CorruptHook).__corruptForTest(id, bytes);
    await withPlugin(subject, async (call, b) => {
      const big = new Uint8Array(4000).map((_, i) => (i * 13) & 0xff);
      await call('put', { agent: 'rot', key: '/big', value: big });
      await call('put', { agent: 'rot', key: '/small', value: bytes('small') });
      const { root } = (await call('snapshot', { agent: 'rot' })) as Root;
      const ids = (await store.listBlocks(undefined, 100_000)).map((e) => e.id);
      check(ids.some((id) => sameBytes(id, root)), `snapshot: expected the root ${hexOf(root)} to be a stored block`);
      const originals = new Map<string, Uint8Array>();
      const tamper = async (id: Uint8Array) => {
        const good = (await store.blocks.get(id))!;
        originals.set(hexOf(id), good);
        const t = good.slice();
        t[t.length - 1]! ^= 1;
        await rot(id, t);
      };
      const entries = [['/big', big], ['/small', bytes('small')]];
      const reads = [
        ['get', { agent: 'rot', key: '/big' }, big],
        ['get', { agent: 'rot', key: '/small' }, bytes('small')],
        ['list', { agent: 'rot' }, { entries, cursor: null }],
      ] as const;
      for (const id of ids) if (!sameBytes(id, root)) await tamper(id);
      await typedOrTrue(b, reads, 'with every block but the root corrupted');
      await tamper(root);
      await typedOrTrue(b, [...reads, ['put', { agent: 'rot', key: '/n', value: bytes('n') }, undefined], ['diff', { rootA: root, rootB: root }, { puts: [], deletes: [] }]], 'with every block corrupted');
      for (const [h, good] of originals) await rot(Uint8Array.from(Buffer.from(h, 'hex')), good);
      await expectGet(call, 'rot', '/big', big, 'once the blocks are repaired');
    }, store.blocks, store);
  },
};

const concurrent: Case<StorageContext> = {
  name: 'concurrent writers: ECONFLICT or serialised, nothing lost',
  slow: true,
  async run({ subject }) {
    const store = new MemoryStore();
    const writers: Bench[] = [];
    try {
      for (let i = 0; i < 3; i++) writers.push(await bench(subject, { isolation: 'worker', providers: { blocks: store.blocks } }));
      const outcomes = await Promise.all(writers.map(async (w, n) => {
        const out: [string, string][] = [];
        for (let i = 0; i < 8; i++) {
          const k = `/w${n}/${i}`;
          try {
            await w.kernel.callValue(w.module.name, 'put', { agent: 'contended', key: k, value: bytes(k) });
            out.push([k, 'ok']);
          } catch (e) {
            out.push([k, e instanceof Mcp0Error ? e.code : String(e)]);
          }
        }
        return out;
      }));
      const all = outcomes.flat();
      const odd = all.filter(([, c]) => c !== 'ok' && c !== 'ECONFLICT');
      check(odd.length === 0, `concurrent puts: expected each to succeed or fail with ECONFLICT, got ${odd.map(([k, c]) => `${k}: ${c}`).join(', ')}`);
      const acked = all.filter(([, c]) => c === 'ok').map(([k]) => k);
      const model = new Map(acked.map((k) => [k, bytes(k)]));
      sameEntries('list after concurrent puts (every acknowledged put kept)', await listAll(caller(writers[0]!.kernel, writers[0]!.module.name), 'contended', '', 1000), model);
    } finally {
      for (const w of writers) await w.close();
      await store.close();
    }
  },
};

const isolation: Case<StorageContext> = {
  name: 'agents are isolated',
  run: ({ subject }) => withPlugin(subject, async (call) => {
    await call('put', { agent: 'alice', key: '/secret', value: bytes('a') });
    await call('put', { agent: 'bob', key: '/secret', value: bytes('b') });
    await call('delete', { agent: 'bob', key: '/secret' });
    await expectGet(call, 'alice', '/secret', bytes('a'), 'of alice after bob deleted his');
    const page: Page = await call('list', { agent: 'bob' });
    check(page?.entries?.length === 0, `list of bob after his delete: expected nothing, got ${brief(page)}`);
  }),
};

/**
 * The storage role suite.
 * @example
 * const results = await runSuite(storageSuite, subject)
 */
export const storageSuite: Suite<PluginSubject, StorageContext> = {
  name: `role ${STORAGE_ROLE}`,
  setup: async (subject) => ({ subject }),
  cases: [roundTrip, listing, snapshots, diffApply, history, gc, limits, corrupted, concurrent, isolation],
};
