/**
 * The compatibility corpus on the current kernel (README.md here): every released plugin and agent
 * artifact, and every plugin a corpus distribution pins, is verified with the current signature
 * code, loaded through the current load checks in both tiers, and exercised through its exports
 * and hooks. State written by an older release is read and written on by the newer ones and by the
 * plugin built from today's sources, where the plugin promises that (storage's CHANGELOG) or the
 * role depends on it (a trace chain continues across an upgrade; registered agreements stay
 * registered). A change to the kernel, the ABI's host side or the load checks that breaks a
 * released artifact fails here.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeCbor,
  encodeCbor,
  generateKeyPair,
  newAgreement,
  readManifest,
  signAgreement,
  verifyModule,
  type CborValue,
  type Grant,
  type Manifest,
} from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { signed, trusted } from '../fixtures.js';
import { artifact, corpusBytes, privateKey, publicKey, readCorpus, releases, type ArtifactEntry } from './corpus.js';

const corpus = readCorpus();
const publisher = publicKey('publisher');
const T0 = 1_800_000_000_000; // logical time of every operation here: a whole hour, far from the real clock
const utf8 = new TextEncoder();
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** Every artifact the corpus holds: its releases and the members of its distributions. */
const subjects: { label: string; bytes: () => Uint8Array; name: string; version: string }[] = [
  ...corpus.artifacts.map((a) => ({ label: a.file, bytes: () => artifact(a), name: a.name, version: a.version })),
  // A member that is a corpus release (`artifact`) is that file byte for byte (node.test.ts checks): tested once.
  ...corpus.distributions.flatMap((d) =>
    d.plugins
      .filter((p) => p.artifact === undefined)
      .map((p) => ({ label: `${d.dir}/${p.file}`, bytes: () => corpusBytes(`${d.dir}/${p.file}`, p.sha256), name: p.name, version: p.version })),
  ),
];

/** Every distinct artifact of `name` the corpus distributions pin, labelled by where it is. */
function members(name: string): { label: string; bytes: () => Uint8Array }[] {
  const seen = new Set<string>();
  return corpus.distributions.flatMap((d) =>
    d.plugins
      .filter((p) => p.name === name && !seen.has(p.sha256))
      .map((p) => {
        seen.add(p.sha256);
        return { label: `${p.name}@${p.version} in ${d.name}@${d.version}`, bytes: () => corpusBytes(`${d.dir}/${p.file}`, p.sha256) };
      }),
  );
}

/** The grants a manifest asks for, each with its own scope: what an operator grants in full. */
const grantsOf = (m: Manifest): Grant[] => (m.capabilities ?? []).map((c) => ({ name: c.name, ...(c.scope ? { scope: c.scope } : {}) }) as Grant);

// Today's builds, for the mixed-version checks: compiled here, under the hook timeout, not inside a test's.
beforeAll(async () => {
  await Promise.all([signed('storage'), signed('trace'), signed('agreements')]);
}, 180_000);

let kernels: Kernel[] = [];
/** A kernel trusting the corpus publisher (and the fixtures' publisher, for today's builds); stopped after each test. */
function kernel(providers: ConstructorParameters<typeof Kernel>[0]['providers'] = {}): Kernel {
  const k = new Kernel({ trust: [publisher, trusted], providers });
  kernels.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(kernels.map((k) => k.stop()));
  kernels = [];
});

describe.each(subjects)('$label', ({ bytes, name, version }) => {
  it('verifies with the current signature code, signed by the corpus publisher and no one else', () => {
    const wasm = bytes();
    expect(verifyModule(wasm, [publisher]).signers).toEqual([publisher.kid]);
    expect(() => verifyModule(wasm, [generateKeyPair().publicKey])).toThrow(expect.objectContaining({ code: 'EUNTRUSTED' }));
    expect(readManifest(wasm)).toMatchObject({ name, version });
  });

  it.each<Tier>(['inline', 'worker'])('passes every load check in the %s tier and stops cleanly', async (tier) => {
    const store = new MemoryStore();
    const k = kernel({ kv: store.kv, blocks: store.blocks });
    const wasm = bytes();
    const loaded = await k.load(wasm, { isolation: tier, grants: grantsOf(readManifest(wasm)) });
    expect(loaded.manifest).toMatchObject({ name, version });
    await k.unload(loaded.name);
  });
});

describe('mcp0.hello releases', () => {
  const hellos = releases('mcp0.hello', corpus);
  it('the corpus has them', () => expect(hellos.length).toBeGreaterThan(0));

  describe.each(hellos.flatMap((e) => (['inline', 'worker'] as Tier[]).map((tier) => ({ e, tier, label: `${e.version} ${tier}` }))))(
    '$label',
    ({ e, tier }) => {
      it('echo, greet, count through kv, stamp inside an operation, EINPUT on bad input', async () => {
        const kv = new MemoryStore().kv;
        const k = kernel({ kv });
        await k.load(artifact(e), { isolation: tier, grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
        for (const input of [new Uint8Array(0), new Uint8Array([0xff, 0x00, 0x1f]), new Uint8Array(70_000).fill(7)]) {
          expect(await k.call('mcp0.hello', 'echo', input)).toEqual(input);
        }
        expect(await k.callValue('mcp0.hello', 'greet', { name: 'Zoë 🌍' })).toBe('hello, Zoë 🌍');
        expect(await k.callValue('mcp0.hello', 'count', { key: 'k' })).toEqual({ key: 'k', value: 1 });
        expect(await k.callValue('mcp0.hello', 'count', { key: 'k', by: 41 })).toEqual({ key: 'k', value: 42 });
        expect(decodeCbor(kv.get('mcp0.hello', 'hello/k')!)).toBe(42);
        await expect(k.callValue('mcp0.hello', 'count', { key: 7 })).rejects.toMatchObject({ code: 'EINPUT' });
        // Inside an operation the clock is the operation's logical time and random its replayable stream.
        const run = (id: string) => k.execute({ agent: 'mcp0.hello', intent: 'stamp', input: encodeCbor({}), id, time: T0 });
        const [a, b, c] = [await run('op-1'), await run('op-1'), await run('op-2')];
        expect(decodeCbor(a.output)).toMatchObject({ time: T0 });
        expect(a.output).toEqual(b.output);
        expect(c.output).not.toEqual(a.output);
      });
    },
  );
});

/** Calls one storage export (answers are checked by value, so typed loosely). */
type Call = (exp: string, input: Record<string, unknown>) => Promise<any>;

/** A kernel with the storage artifact `wasm` over `store`'s blocks. */
async function storage(wasm: Uint8Array, store: MemoryStore): Promise<Call> {
  const k = kernel({ blocks: store.blocks });
  await k.load(wasm, { isolation: 'inline', grants: [{ name: 'blocks' }, { name: 'random' }] });
  return (exp, input) => k.callValue('mcp0.storage', exp, input as CborValue);
}

/** Every entry of an agent's tree at its head, through `list`'s pages. */
async function listing(call: Call, agent: string, extra: Record<string, unknown> = {}): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for (let cursor: string | null = null; ; ) {
    const page = (await call('list', { agent, limit: 2, ...(cursor === null ? {} : { cursor }), ...extra })) as {
      entries: [string, Uint8Array][];
      cursor: string | null;
    };
    out.push(...page.entries);
    if (page.cursor === null) return out;
    cursor = page.cursor;
  }
}

const sorted = (m: Map<string, Uint8Array>): [string, Uint8Array][] => [...m.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('mcp0.storage releases', () => {
  const storages = releases('mcp0.storage', corpus);
  it('the corpus has them', () => expect(storages.length).toBeGreaterThan(0));

  it.each(storages.map((e) => ({ e, label: e.version })))('$label: put, get, delete, list, snapshot, history, diff, apply, restore', async ({ e }) => {
    const call = await storage(artifact(e), new MemoryStore());
    const agent = 'compat';
    const big = utf8.encode('out of line '.repeat(10)); // over 64 bytes: stored as a block of its own
    expect(await call('get', { agent, key: '/a' })).toBeNull();
    await call('put', { agent, key: '/a', value: utf8.encode('alpha') });
    await call('put', { agent, key: '/b', value: big });
    await call('put', { agent, key: '/c/1', value: utf8.encode('gamma') });
    const first = await call('snapshot', { agent });
    expect(await call('get', { agent, key: '/a' })).toEqual(utf8.encode('alpha'));
    expect(await call('get', { agent, key: '/b' })).toEqual(big);
    expect(await call('delete', { agent, key: '/a' })).toMatchObject({ existed: true });
    expect(await call('delete', { agent, key: '/a' })).toMatchObject({ existed: false });
    expect(await listing(call, agent)).toEqual([
      ['/b', big],
      ['/c/1', utf8.encode('gamma')],
    ]);
    expect(await listing(call, agent, { prefix: '/c/' })).toEqual([['/c/1', utf8.encode('gamma')]]);
    const second = await call('snapshot', { agent });
    expect(second.version).toBe(first.version + 1); // the delete that found nothing made no version
    const history = (await call('history', { agent })).roots as Uint8Array[];
    expect(history.length).toBe(4);
    expect(history[0]).toEqual(second.root);
    expect(history[1]).toEqual(first.root);
    expect(await call('diff', { rootA: first.root, rootB: second.root })).toEqual({ puts: [], deletes: ['/a'] });
    await call('apply', { agent, delta: { puts: [['/d', utf8.encode('delta')]], deletes: ['/b'] } });
    expect(await listing(call, agent)).toEqual([
      ['/c/1', utf8.encode('gamma')],
      ['/d', utf8.encode('delta')],
    ]);
    await call('restore', { agent, root: first.root });
    expect(await listing(call, agent)).toEqual([
      ['/a', utf8.encode('alpha')],
      ['/b', big],
      ['/c/1', utf8.encode('gamma')],
    ]);
    await expect(call('put', { agent, key: 7, value: big })).rejects.toMatchObject({ code: 'EINPUT' });
  });

  it("upgrades in order: each release, then today's build, reads what the older ones wrote and writes on", async () => {
    // One block store, one agent, the storage plugin replaced by each newer release in turn.
    const store = new MemoryStore();
    const agent = 'upgraded';
    const steps = [...storages.map((e) => ({ label: e.version, wasm: artifact(e) })), { label: 'today', wasm: await signed('storage') }];
    const model = new Map<string, Uint8Array>();
    const states: { label: string; root: Uint8Array; entries: [string, Uint8Array][] }[] = [];
    let versions = 0;
    for (const [i, step] of steps.entries()) {
      const call = await storage(step.wasm, store);
      // What every older release wrote reads back.
      expect(await listing(call, agent), `${step.label} reads the state`).toEqual(sorted(model));
      const head = await call('snapshot', { agent });
      expect(head.version, `${step.label} sees the head version`).toBe(versions);
      if (states.length > 0) {
        expect(head.root).toEqual(states.at(-1)!.root);
        const roots = (await call('history', { agent, limit: 1000 })).roots as Uint8Array[];
        expect(roots.length, `${step.label} sees the whole history`).toBe(versions);
        expect(roots[0]).toEqual(head.root);
      }
      // It writes on: a new key, a key an older release wrote, a delete, one apply.
      const put = (key: string, value: Uint8Array) =>
        call('put', { agent, key, value }).then(() => {
          model.set(key, value);
          versions++;
        });
      await put(`/step/${i}`, utf8.encode(`written by ${step.label}`));
      await put('/shared', utf8.encode(`last written by ${step.label} `.repeat(i + 1)));
      if (i > 0) {
        await call('delete', { agent, key: `/step/${i - 1}` });
        model.delete(`/step/${i - 1}`);
        versions++;
      }
      const puts: [string, Uint8Array][] = Array.from({ length: 20 }, (_, j) => [`/bulk/${i}/${j}`, utf8.encode(`${step.label}:${j}`)]);
      await call('apply', { agent, delta: { puts, deletes: [] } });
      puts.forEach(([k, v]) => model.set(k, v));
      versions++;
      expect(await listing(call, agent)).toEqual(sorted(model));
      states.push({ label: step.label, root: (await call('snapshot', { agent })).root, entries: sorted(model) });
    }
    // Today's build reads every state an older release left, by its root, and its whole history.
    const today = await storage(await signed('storage'), store);
    for (const s of states) expect(await listing(today, agent, { root: s.root }), `the state ${s.label} left`).toEqual(s.entries);
    const roots = (await today('history', { agent, limit: 1000 })).roots as Uint8Array[];
    expect(roots.length).toBe(versions);
    for (const s of states) expect(roots).toContainEqual(s.root);
  });
});

describe.each(members('mcp0.trace'))('$label', ({ bytes }) => {
  const hello = releases('mcp0.hello', corpus).at(-1)!; // the agent they serve: the newest hello release

  /** A kernel with `trace` observing every operation of the corpus hello, over `kv`. */
  async function traced(trace: Uint8Array, kv: MemoryStore['kv']): Promise<Kernel> {
    const k = kernel({ kv });
    await k.load(trace, { isolation: 'inline', grants: [{ name: 'kv', scope: { prefix: 'trace/' } }] });
    await k.load(artifact(hello), { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    k.setPipeline({ admit: [], observe: ['mcp0.trace'] });
    return k;
  }

  it("appends every operation, answers head, get and range, verifies its chain; today's build continues the chain", async () => {
    const kv = new MemoryStore().kv;
    const k = await traced(bytes(), kv);
    const inputs = [utf8.encode('one'), encodeCbor({ name: 'two' }), encodeCbor({ key: 7 })];
    await k.execute({ agent: 'mcp0.hello', intent: 'echo', input: inputs[0]!, time: T0 });
    await k.execute({ agent: 'mcp0.hello', intent: 'greet', input: inputs[1]!, time: T0 + 1 });
    await expect(k.execute({ agent: 'mcp0.hello', intent: 'count', input: inputs[2]!, time: T0 + 2 })).rejects.toMatchObject({ code: 'EINPUT' });
    const head = (await k.callValue('mcp0.trace', 'head', {})) as { seq: number; head: string };
    expect(head.seq).toBe(2);
    const entries = (await k.callValue('mcp0.trace', 'range', { from: 0, to: 2 })) as { seq: number; head: string; event: Record<string, unknown> }[];
    expect(entries.map((x) => [x.event.intent, x.event.status, x.event.logicalTime])).toEqual([
      ['echo', 'ok', T0],
      ['greet', 'ok', T0 + 1],
      ['count', 'error', T0 + 2],
    ]);
    entries.forEach((x, i) => expect(x.event.inputHash).toEqual(sha256(inputs[i]!)));
    expect(entries[2]!.head).toBe(head.head);
    expect(await k.callValue('mcp0.trace', 'get', { seq: 1 })).toEqual(entries[1]);
    expect(await k.callValue('mcp0.trace', 'verifyRange', { from: 0, to: 2 })).toEqual({ ok: true });
    await k.stop();

    const now = await traced(await signed('trace'), kv);
    await now.execute({ agent: 'mcp0.hello', intent: 'echo', input: utf8.encode('four'), time: T0 + 3 });
    expect(await now.callValue('mcp0.trace', 'range', { from: 0, to: 2 })).toEqual(entries);
    expect(((await now.callValue('mcp0.trace', 'head', {})) as { seq: number }).seq).toBe(3);
    expect(await now.callValue('mcp0.trace', 'verifyRange', { from: 0, to: 3 })).toEqual({ ok: true });
  });

  it("is given op.cause (ABI 1.2) and ignores it; today's build records the next cause on the same chain", async () => {
    const kv = new MemoryStore().kv;
    const k = await traced(bytes(), kv);
    const cause = sha256(utf8.encode('an envelope'));
    await k.execute({ agent: 'mcp0.hello', intent: 'echo', input: utf8.encode('one'), time: T0, cause });
    const old = (await k.callValue('mcp0.trace', 'get', { seq: 0 })) as { event: Record<string, unknown> };
    expect(old.event).not.toHaveProperty('cause'); // recorded as before: an 8-member event
    expect(Object.keys(old.event)).toHaveLength(8);
    await k.stop();

    const now = await traced(await signed('trace'), kv);
    await now.execute({ agent: 'mcp0.hello', intent: 'echo', input: utf8.encode('two'), time: T0 + 1, cause });
    const next = (await now.callValue('mcp0.trace', 'get', { seq: 1 })) as { event: Record<string, unknown> };
    expect(next.event.cause).toEqual(cause);
    expect(await now.callValue('mcp0.trace', 'verifyRange', { from: 0, to: 1 })).toEqual({ ok: true });
    await now.stop();
  });
});

describe.each(members('mcp0.agreements'))('$label', ({ bytes }) => {
  const hello = releases('mcp0.hello', corpus).at(-1)!; // the agent they serve: the newest hello release
  const consumer = privateKey('publisher');
  const provider = privateKey('assembler');

  /** A kernel where `agreements` admits and observes the corpus hello, accepting the corpus assembler as provider. */
  async function agreed(agreements: Uint8Array, kv: MemoryStore['kv']): Promise<Kernel> {
    const k = kernel({ kv });
    await k.load(agreements, {
      isolation: 'inline',
      grants: [{ name: 'kv', scope: { prefix: 'agreements/' } }, { name: 'crypto' }, { name: 'clock' }],
      config: { providers: [provider.kid] },
    });
    await k.load(artifact(hello), { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    k.setPipeline({ admit: ['mcp0.agreements'], observe: ['mcp0.agreements'] });
    return k;
  }

  // Every operation carries a cause (ABI 1.2): a released hook must read past a member it predates.
  const cause = sha256(utf8.encode('an envelope'));
  const op = (k: Kernel, intent: string, input: Uint8Array, time: number) => k.execute({ agent: 'mcp0.hello', intent, input, time, cause });

  it("registers a signed agreement, admits what it permits, denies the rest, meters usage; today's build reads it", async () => {
    const kv = new MemoryStore().kv;
    const k = await agreed(bytes(), kv);
    const doc = newAgreement('personal', {
      id: 'agr-compat',
      consumer: consumer.kid,
      provider: provider.kid,
      notBefore: T0,
      set: { 'permissions.intents': '["echo","greet"]' },
    });
    const signedDoc = signAgreement(signAgreement(doc, consumer, 'consumer'), provider, 'provider');
    await expect(op(k, 'echo', utf8.encode('x'), T0)).rejects.toMatchObject({ code: 'EDENIED' }); // no agreement bound yet
    await k.callValue('mcp0.agreements', 'register', { document: signedDoc as unknown as CborValue });
    await k.callValue('mcp0.agreements', 'bind', { agent: 'mcp0.hello', agreement: 'agr-compat', consumer: consumer.kid });
    expect((await op(k, 'echo', utf8.encode('x'), T0 + 1)).output).toEqual(utf8.encode('x'));
    await op(k, 'greet', encodeCbor({ name: 'a' }), T0 + 2);
    const denied = await op(k, 'count', encodeCbor({ key: 'k' }), T0 + 3).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'EDENIED' });
    expect(String((denied as { details: { reason: unknown } }).details.reason)).toMatch(/^not-permitted/);
    // A document the operator did not accept is refused: the provider is not listed.
    const stranger = generateKeyPair();
    const foreign = newAgreement('personal', { id: 'agr-foreign', consumer: consumer.kid, provider: stranger.kid, notBefore: T0 });
    await expect(
      k.callValue('mcp0.agreements', 'register', {
        document: signAgreement(signAgreement(foreign, consumer, 'consumer'), stranger, 'provider') as unknown as CborValue,
      }),
    ).rejects.toMatchObject({ code: 'EPERM' });
    const usage = async (kk: Kernel) =>
      ((await kk.callValue('mcp0.agreements', 'usage', { consumer: consumer.kid, window: T0 })) as { agreements: { id: string; calls: number }[] }).agreements;
    expect(await usage(k)).toMatchObject([{ id: 'agr-compat', calls: 2 }]);
    await k.stop();

    const now = await agreed(await signed('agreements'), kv);
    expect(await now.callValue('mcp0.agreements', 'get', { id: 'agr-compat' })).toMatchObject({ document: { id: 'agr-compat', consumer: consumer.kid } });
    expect((await op(now, 'echo', utf8.encode('y'), T0 + 4)).output).toEqual(utf8.encode('y'));
    expect(await usage(now)).toMatchObject([{ id: 'agr-compat', calls: 3 }]);
  });
});

describe('the corpus records', () => {
  it('each entry names its package, a full commit and a sha256; released versions are unique', () => {
    const ids = corpus.artifacts.map((a: ArtifactEntry) => `${a.name}@${a.version}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const a of corpus.artifacts) {
      expect(a.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(artifact(a).length).toBe(a.bytes);
    }
  });
});
