/**
 * The compatibility corpus through the current SDK (README.md here): each corpus distribution lock
 * is read and verified by today's lock reader, a `Node` runs it with the released example agents
 * (their operations admitted by its agreements plugin, recorded by its trace, kept by its
 * storage), and the same store then opens under today's plugins with every agent, its state, its
 * trace chain and its agreement intact. Each released storage plugin also serves as a node's
 * storage role for the released agents. A change to the SDK, the kernel or the lock format that
 * breaks a released artifact, or a distribution as it was locked, fails here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, newAgreement, parseGrant, signAgreement, type CborValue } from '@mcp0/abi';
import { Node, checkDistribution, loadDistribution, sha256Hex, type NodeDistribution } from '@mcp0/sdk';
import { signed, trusted } from '../fixtures.js';
import { CORPUS_DIR, artifact, corpusBytes, entry, privateKey, publicKey, readCorpus, releases } from './corpus.js';

const corpus = readCorpus();
const publisher = publicKey('publisher');
const assembler = publicKey('assembler');
const counter = releases('mcp0.example.counter', corpus);
const memory = releases('mcp0.example.memory', corpus);

// Today's builds, for the upgrade: compiled here, under the hook timeout, not inside a test's.
beforeAll(async () => {
  await Promise.all([signed('storage'), signed('trace'), signed('agreements')]);
}, 180_000);

let nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function start(options: Parameters<typeof Node.start>[0]): Promise<Node> {
  const node = await Node.start(options);
  nodes.push(node);
  return node;
}

/** Registers `agr-compat` for the agents' signer (the corpus publisher), signed by the corpus assembler as provider, permitting `intents`. */
async function agreement(node: Node, intents: string[]): Promise<void> {
  const consumer = privateKey('publisher');
  const doc = newAgreement('personal', {
    id: 'agr-compat',
    consumer: consumer.kid,
    provider: assembler.kid,
    notBefore: Date.now() - 3_600_000,
    set: { 'permissions.intents': JSON.stringify(intents) },
  });
  await node.callRole('agreements', 'register', {
    document: signAgreement(signAgreement(doc, consumer, 'consumer'), privateKey('assembler'), 'provider') as unknown as CborValue,
  });
}

type Notes = { notes: { id: number; text: string; tags: string[] }[] };

describe.each(corpus.distributions.map((d) => ({ d, label: `${d.name}@${d.version}` })))('the distribution $label', ({ d }) => {
  const dir = join(CORPUS_DIR, d.dir);

  it("reads and verifies with today's lock reader: the plugins it pinned, by sha256, signed by the corpus publisher", async () => {
    const dist = await loadDistribution(dir, { trust: [assembler] });
    expect({ name: dist.name, version: dist.version }).toEqual({ name: d.name, version: d.version });
    expect(dist.publishers.map((k) => k.kid)).toEqual([publisher.kid]);
    expect(dist.plugins.map((p) => ({ name: p.name, version: p.version, sha256: sha256Hex(p.bytes) }))).toEqual(
      d.plugins.map((p) => ({ name: p.name, version: p.version, sha256: p.sha256 })),
    );
    // A member that is also a corpus release is that release, byte for byte.
    for (const p of d.plugins.filter((x) => x.artifact !== undefined)) {
      expect(corpusBytes(`${d.dir}/${p.file}`, p.sha256)).toEqual(artifact(entry(p.name, p.version, corpus)));
    }
    const stranger = await checkDistribution(dir, { trust: [generateKeyPair().publicKey] });
    expect(stranger.ok).toBe(false);
    expect(stranger.problems.map((p) => p.code)).toContain('EUNTRUSTED');
  });

  it("runs the released agents on a node, and the store opens under today's plugins with everything intact", async () => {
    const store = mkdtempSync(join(tmpdir(), 'mcp0-compat-node-'));
    dirs.push(store);
    const dist = await loadDistribution(dir, { trust: [assembler] });
    const old = await start({ distribution: dist, store: `lmdb:${store}` });
    for (const role of ['storage', 'agreements', 'trace'] as const) expect(old.hasRole(role), role).toBe(true);
    await agreement(old, ['increment', 'get', 'remember', 'list', 'recall', 'forget']);
    const c = await old.agents.spawn({ module: artifact(counter.at(-1)!), name: 'counter', agreement: 'agr-compat' });
    const n = await old.agents.spawn({ module: artifact(memory.at(-1)!), name: 'notes', agreement: 'agr-compat' });
    expect(await c.execute('increment', { by: 5 })).toEqual({ value: 5 });
    expect(await c.execute('increment', {})).toEqual({ value: 6 });
    await expect(c.execute('reset', {})).rejects.toMatchObject({ code: 'EDENIED' }); // not permitted
    expect(await c.execute('get')).toEqual({ value: 6 });
    for (const text of ['buy milk', 'call Ada', 'Milk again']) await n.execute('remember', { text, tags: ['home'] });
    expect(((await n.execute('recall', { query: 'milk' })) as Notes).notes.map((x) => x.text)).toEqual(['Milk again', 'buy milk']);
    const first = ((await n.execute('list', {})) as Notes).notes[0]!;
    expect(await n.execute('forget', { id: first.id })).toEqual({ existed: true });
    const notes = ((await n.execute('list', {})) as Notes).notes;
    expect(notes.map((x) => x.text)).toEqual(['call Ada', 'Milk again']);
    const snap = await c.snapshot();
    // 10 operations ran, seq 0 to 9 (the denied one never reached the agent, nor the trace).
    const head = await old.roles.trace.head();
    expect(head.seq).toBe(9);
    expect(await old.roles.trace.verifyRange({ from: 0, to: 9 })).toEqual({ ok: true });
    await old.stop();
    nodes = nodes.filter((x) => x !== old);

    // Today's plugins (built from source, another publisher) on the same store; the agents' publisher trusted by the operator.
    // Each plugin in the distribution's place, with its grants, config and tier, built from today's sources.
    const fixture = { 'mcp0.agreements': 'agreements', 'mcp0.trace': 'trace', 'mcp0.storage': 'storage' } as const;
    const today: NodeDistribution = {
      name: 'today',
      version: '0.0.0',
      publishers: [trusted],
      plugins: await Promise.all(
        dist.plugins.map(async (p) => ({
          name: p.name,
          bytes: await signed(fixture[p.name as keyof typeof fixture]),
          grants: p.grants,
          config: p.config,
          isolation: p.isolation,
        })),
      ),
      pipeline: dist.pipeline,
    };
    const now = await start({ distribution: today, store: `lmdb:${store}`, trust: [publisher] });
    expect(now.agents.refused()).toEqual([]);
    const c2 = now.agents.get('counter');
    expect(c2.id).toBe(c.id);
    expect(await c2.execute('get')).toEqual({ value: 6 });
    expect(await c2.execute('increment', {})).toEqual({ value: 7 });
    await expect(c2.execute('reset', {})).rejects.toMatchObject({ code: 'EDENIED' });
    await c2.recover(snap.id);
    expect(await c2.execute('get')).toEqual({ value: 6 });
    expect(((await now.agents.get('notes').execute('list', {})) as Notes).notes).toEqual(notes);
    // Four more operations (get, increment, get, list) extend the same chain.
    expect((await now.roles.trace.head()).seq).toBe(13);
    expect(await now.roles.trace.verifyRange({ from: 0, to: 13 })).toEqual({ ok: true });
    const usage = (await now.callRole('agreements', 'usage', { consumer: publisher.kid })) as { agreements: { id: string; calls: number }[] };
    expect(usage.agreements.map((a) => a.id)).toEqual(['agr-compat']);
  });
});

describe.each(releases('mcp0.storage', corpus).map((e) => ({ e, label: e.version })))("mcp0.storage $label as a node's storage role", ({ e }) => {
  it('serves every released agent: operations, snapshot and recover', async () => {
    const distribution: NodeDistribution = {
      name: 'compat',
      version: '0.0.0',
      publishers: [publisher],
      plugins: [{ name: 'mcp0.storage', bytes: artifact(e), grants: [parseGrant('blocks'), parseGrant('random')], isolation: 'inline' }],
      pipeline: { admit: [], observe: [] },
    };
    const node = await start({ distribution, store: 'memory:' });
    for (const release of counter) {
      const c = await node.agents.spawn({ module: artifact(release), name: `counter-${release.version}` });
      expect(await c.execute('increment', { by: 2 })).toEqual({ value: 2 });
      const snap = await c.snapshot();
      expect(await c.execute('increment', {})).toEqual({ value: 3 });
      await c.recover(snap.id);
      expect(await c.execute('get')).toEqual({ value: 2 });
      expect(await c.execute('reset', {})).toEqual({ value: 0 });
    }
    for (const release of memory) {
      const n = await node.agents.spawn({ module: artifact(release), name: `notes-${release.version}` });
      for (const text of ['one note', 'two notes']) await n.execute('remember', { text });
      expect(((await n.execute('recall', { query: 'note' })) as Notes).notes.map((x) => x.text)).toEqual(['two notes', 'one note']);
      // One version per operation that wrote: each remember is one apply, whatever it wrote.
      expect(((await node.callRole('storage', 'history', { agent: n.id, limit: 10 })) as { roots: unknown[] }).roots.length).toBe(2);
    }
  });
});
