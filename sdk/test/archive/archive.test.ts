// Backup and restore of an agent's storage state: state written by the real storage plugin into
// LMDB, exported and sealed by an operator key, imported into memory, MongoDB (FerretDB) and a fresh
// LMDB with that key trusted, and read back through the plugin on the destination. Damaged archives,
// and sealed ones that were edited (one byte of the agent's name), carry another archive's seal, are
// sealed by an untrusted key or not at all, are refused and leave the destination untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, generateKeyPair, Mcp0Error, signStatement } from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import { rejection } from '../rejection.js';
import { startMongo } from '../../../test/mongo-server.js';
import { MemoryStore, collectGarbage, openStore, type Store } from '../../src/store/index.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { sha256 } from '../../src/store/codec.js';
import { ARCHIVE_FORMAT, SEAL_TYPE, archiveSigner, exportAgent, importAgent, readArchive, STORAGE_MODULE, headRef } from '../../src/archive/index.js';
import { walk } from '../../src/archive/format.js';
import { sealArchive } from '../../src/archive/seal.js';
import { agentNameBytes, archiveFields, bootStorage, flipByte, listAll, storage, writeState, type ArchiveFields } from '../../../test/archive-support.js';

const mongo = await startMongo();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mcp0-archive-'));
  dirs.push(d);
  return d;
};
const AGENT = 'agent-archive-1';
/** AGENT with the last byte of its name flipped ('1' ^ 0x01): the agent a one-byte edit would restore into. */
const OTHER = 'agent-archive-0';

/** The exporting operator, trusted on import; and a key nobody trusts. */
const operator = generateKeyPair();
const stranger = generateKeyPair();
const trust = [operator.publicKey];

/** The archive's fields, decoded. */
const fields = archiveFields;

let source: LmdbStore;
let kernel: Kernel;
let state: Awaited<ReturnType<typeof writeState>>;
let sourceHead: { root: Uint8Array; version: number };
let sourceHistory: Uint8Array[];
let current: Uint8Array;
let full: Uint8Array;
/** OTHER's archive, sealed by the same operator: the source of grafted seals. */
let otherArchive: Uint8Array;

beforeAll(async () => {
  source = LmdbStore.open(tempDir());
  kernel = await bootStorage(source.blocks);
  state = await writeState(kernel, AGENT);
  sourceHead = (await source.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!;
  sourceHistory = (await storage(kernel, 'history', { agent: AGENT, limit: 100 })).roots;
  await storage(kernel, 'put', { agent: OTHER, key: '/other', value: new Uint8Array([7]) });
  current = await exportAgent(source, AGENT, { key: operator });
  full = await exportAgent(source, AGENT, { key: operator, history: true });
  otherArchive = await exportAgent(source, OTHER, { key: operator });
});

afterAll(async () => {
  await kernel?.stop();
  await source?.close();
  await mongo?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The commit fields of a commit block. */
const commitOf = (bytes: Uint8Array) => decodeCbor(bytes) as { tree: Uint8Array; parent: Uint8Array | null; seq: number };

/**
 * Imports `archive` into `dest`, loads the plugin there, and checks head, root and every value. The
 * head is the archive's: the source's head with history, the root commit of its state without.
 */
async function roundTrip(dest: Store, archive: Uint8Array, tier: 'inline' | 'worker' = 'inline'): Promise<Kernel> {
  const r = await importAgent(dest, archive, { trust });
  expect(r.agent).toBe(AGENT);
  expect(r.signer).toBe(operator.kid);
  expect(hex(r.root)).toBe(hex(state.second.root));
  expect(hex(r.head)).toBe(hex(fields(archive).head));
  expect(r.version).toBe(1);
  const ref = (await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!;
  expect(hex(ref.root)).toBe(hex(fields(archive).head));
  const k = await bootStorage(dest.blocks, tier);
  const snap = await storage(k, 'snapshot', { agent: AGENT });
  expect(hex(snap.root)).toBe(hex(state.second.root));
  expect(snap.version).toBe(1);
  const entries = await listAll(k, AGENT);
  expect(entries.length).toBe(state.entries.length);
  expect(entries.map(([key, v]) => [key, hex(v)])).toEqual(state.entries.map(([key, v]) => [key, hex(v)]));
  expect(hex(await storage(k, 'get', { agent: AGENT, key: '/memory/notes/0' }))).toBe(hex(state.entries.find(([key]) => key === '/memory/notes/0')![1]));
  return k;
}

describe('exportAgent', () => {
  it('writes deterministic CBOR {format, agent, head, blocks, seal}: the head commit, its tree and out-of-line values, sealed', async () => {
    expect(state.entries.length).toBe(291);
    const a = fields(current);
    expect(Object.keys(a).sort()).toEqual(['agent', 'blocks', 'format', 'head', 'seal']);
    expect(a.format).toBe(ARCHIVE_FORMAT);
    expect(ARCHIVE_FORMAT).toBe('mcp0.archive/2');
    expect(a.agent).toBe(AGENT);
    expect(hex(sha256(a.blocks[0]!))).toBe(hex(a.head)); // the head commit first
    // Self-contained: the head is a root commit of the current state, not the stored head (which has a parent).
    expect(commitOf(a.blocks[0]!)).toEqual({ ...commitOf((await source.blocks.get(sourceHead.root))!), parent: null, seq: 1 });
    expect(commitOf((await source.blocks.get(sourceHead.root))!).parent).not.toBeNull();
    expect(hex(commitOf(a.blocks[0]!).tree)).toBe(hex(state.second.root));
    // The seal: the operator's signed statement over every member the block hashes do not cover.
    const { sig, ...seal } = a.seal;
    expect(seal).toEqual({
      type: SEAL_TYPE,
      signer: operator.kid,
      format: ARCHIVE_FORMAT,
      agent: AGENT,
      head: hex(a.head),
      history: false,
      blocks: a.blocks.length,
    });
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(archiveSigner(current)).toBe(operator.kid);
    expect(hex(encodeCbor(a))).toBe(hex(current)); // deterministic
    expect(hex(await exportAgent(source, AGENT, { key: operator }))).toBe(hex(current)); // and stable
    // 100 out-of-line values (one per third key, the 200-byte extra, minus deleted ones) + nodes + commit.
    const info = await readArchive(current, { trust });
    expect(info.history).toBe(false);
    expect(info.signer).toBe(operator.kid);
    expect(hex(info.root)).toBe(hex(state.second.root));
    const outOfLine = state.entries.filter(([, v]) => v.length > 64).length;
    expect(a.blocks.filter((b) => b.length > 64 && b.length <= 200 && b[0] === 0).length).toBeGreaterThan(0);
    expect(a.blocks.length).toBeGreaterThan(outOfLine + 1);
    // Every block but the root commit (made by the export) is stored in the source under its hash.
    expect(await source.blocks.has(a.blocks.map(sha256))).toEqual(a.blocks.map((_, i) => i > 0));
  });

  it('with history, also holds every parent commit and its tree', async () => {
    const a = fields(full);
    const info = await readArchive(full, { trust });
    expect(info.history).toBe(true);
    expect(a.seal).toMatchObject({ history: true, blocks: a.blocks.length, head: hex(sourceHead.root) });
    expect(a.blocks.length).toBeGreaterThan(fields(current).blocks.length);
    const ids = new Set(a.blocks.map((b) => hex(sha256(b))));
    expect(sourceHistory.length).toBe(3);
    for (const root of sourceHistory) expect(ids.has(hex(root))).toBe(true);
    expect(ids.has(hex(state.first.root))).toBe(true);
    expect(fields(current).blocks.some((b) => hex(sha256(b)) === hex(state.first.root))).toBe(false);
  });

  it('a first commit exported with history seals history false: there is no parent chain to hold', async () => {
    const a = fields(otherArchive);
    expect(a.seal.history).toBe(false);
    const withHistory = await exportAgent(source, OTHER, { key: operator, history: true });
    expect(hex(withHistory)).toBe(hex(otherArchive));
    expect((await readArchive(withHistory, { trust })).agent).toBe(OTHER);
  });

  it('refuses an agent without state (ENOTFOUND), a bad agent id and a missing or public key (EUSAGE)', async () => {
    expect(await rejection(() => exportAgent(source, 'nobody', { key: operator }))).toMatchObject({ code: 'ENOTFOUND' });
    expect(await rejection(() => exportAgent(source, '', { key: operator }))).toMatchObject({ code: 'EUSAGE' });
    for (const options of [undefined, {}, { key: operator.publicKey }]) {
      const e = await rejection(() => exportAgent(source, AGENT, options as never));
      expect(e.code).toBe('EUSAGE');
      expect(e.message).toMatch(/options\.key: expected the exporting operator's private key/);
    }
    for (const options of [undefined, {}]) expect(await rejection(() => readArchive(current, options as never))).toMatchObject({ code: 'EUSAGE' });
  });

  it('refuses to export state with a missing block', async () => {
    const mem = new MemoryStore();
    const a = fields(current);
    await importAgent(mem, current, { trust });
    await mem.deleteBlocks([sha256(a.blocks[a.blocks.length - 1]!)]);
    const e = await rejection(() => exportAgent(mem, AGENT, { key: operator }));
    expect(e.code).toBe('ENOTFOUND');
    expect(e.message).toMatch(/missing/);
    await mem.close();
  });
});

describe('importAgent', () => {
  it('into a MemoryStore: same head and root, the plugin reads the same values', async () => {
    const dest = new MemoryStore();
    const k = await roundTrip(dest, current);
    await k.stop();
    await dest.close();
  });

  it('into a fresh LmdbStore, with history: the plugin lists the same versions and restores the first', async () => {
    const dir = tempDir();
    const dest = LmdbStore.open(dir);
    const k = await roundTrip(dest, full);
    expect((await storage(k, 'history', { agent: AGENT, limit: 100 })).roots.map(hex)).toEqual(sourceHistory.map(hex));
    const d = await storage(k, 'diff', { rootA: state.first.root, rootB: state.second.root });
    expect(d.deletes.length).toBe(10);
    await storage(k, 'restore', { agent: AGENT, root: state.first.root });
    expect((await listAll(k, AGENT)).length).toBe(300);
    await k.stop();
    await dest.close();
    // Durable: reopened, the head is still there.
    const again = LmdbStore.open(dir);
    expect((await again.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.version).toBe(2);
    await again.close();
  });

  it.skipIf(!mongo)('into MongoDB (FerretDB) and back into LMDB: the plugin (worker tier) reads the same values, the root ids are unchanged', async () => {
    const uri = mongo!.uri.replace(/^(mongodb:\/\/[^/?]*)\/?[^?]*/, `$1/mcp0_archive_${randomUUID().replaceAll('-', '').slice(0, 16)}`);
    const dest = await openStore(uri);
    const k = await roundTrip(dest, full, 'worker');
    expect((await storage(k, 'history', { agent: AGENT, limit: 100 })).roots.map(hex)).toEqual(sourceHistory.map(hex));
    await k.stop();
    // Imported once more: the same head is a no-op.
    expect((await importAgent(dest, full, { trust })).version).toBe(1);
    // And back: exported from MongoDB into a fresh LMDB, the head, the root ids and the history are unchanged.
    const back = await exportAgent(dest, AGENT, { key: operator, history: true });
    await dest.close();
    const lmdb = LmdbStore.open(tempDir());
    const k2 = await roundTrip(lmdb, back);
    expect(hex((await lmdb.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(hex(sourceHead.root));
    expect((await storage(k2, 'history', { agent: AGENT, limit: 100 })).roots.map(hex)).toEqual(sourceHistory.map(hex));
    expect(hex(back)).toBe(hex(full));
    await k2.stop();
    await lmdb.close();
  });

  it('is idempotent for the same head, refuses another head (ECONFLICT) unless force', async () => {
    const dest = new MemoryStore();
    const k = await bootStorage(dest.blocks);
    await storage(k, 'put', { agent: AGENT, key: '/other', value: new Uint8Array([1]) });
    const before = (await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!;
    const e = await rejection(() => importAgent(dest, current, { trust }));
    expect(e.code).toBe('ECONFLICT');
    expect(e.message).toMatch(/force/);
    // Nothing written: the ref and the archive's blocks are as before.
    expect(hex((await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(hex(before.root));
    expect((await dest.blocks.has(fields(current).blocks.map(sha256))).filter(Boolean).length).toBe(0);
    const r = await importAgent(dest, current, { trust, force: true });
    expect(r.version).toBe(before.version + 1);
    expect(hex((await storage(k, 'snapshot', { agent: AGENT })).root)).toBe(hex(state.second.root));
    expect((await importAgent(dest, current, { trust })).version).toBe(r.version);
    await k.stop();
    await dest.close();
  });
});

describe('an archive without history is self-contained (issue 13, defect 5)', () => {
  it('imports as a root commit: history starts there, gc marks it, restore and history work, and export → import → export is byte-identical', async () => {
    const dest = new MemoryStore();
    const r = await importAgent(dest, current, { trust });
    const k = await bootStorage(dest.blocks);
    const call = (e: string, i: unknown) => storage(k, e, i);
    const h = await call('history', { agent: AGENT, limit: 100 });
    expect(h.roots.map(hex)).toEqual([hex(state.second.root)]);
    // Every block the head names is there: gc marks it (an unmarkable head used to abort every gc).
    await dest.blocks.put([new Uint8Array([1, 2, 3])]); // garbage
    const report = await collectGarbage({ store: dest, call, now: () => Date.now() + 2 * 3_600_000 });
    expect(report).toMatchObject({ agents: 1, commits: 1, swept: 1, failed: [] });
    // The agent goes on from there: a write, then a restore of the imported root.
    await call('put', { agent: AGENT, key: '/after', value: new Uint8Array([9]) });
    expect((await call('history', { agent: AGENT, limit: 100 })).roots.length).toBe(2);
    await call('restore', { agent: AGENT, root: state.second.root });
    expect((await listAll(k, AGENT)).length).toBe(state.entries.length);
    await k.stop();
    // Exported again from a store that holds just the import, it is the same archive.
    const again = new MemoryStore();
    expect(hex((await importAgent(again, current, { trust })).head)).toBe(hex(r.head));
    expect(hex(await exportAgent(again, AGENT, { key: operator }))).toBe(hex(current));
    expect(hex(await exportAgent(again, AGENT, { key: operator, history: true }))).toBe(hex(current)); // a root commit has no chain to add
    await again.close();
    await dest.close();
  });

  it('imports an archive sealed before exports were self-contained (its head names a parent it lacks) under the root commit of that state', async () => {
    const blocks = await walk(sourceHead.root, false, async (id) => (await source.blocks.get(id))!);
    const seal = sealArchive({ format: ARCHIVE_FORMAT, agent: AGENT, head: hex(sourceHead.root), history: false, blocks: blocks.size }, operator);
    const legacy = encodeCbor({ format: ARCHIVE_FORMAT, agent: AGENT, head: sourceHead.root, blocks: [...blocks.values()], seal });
    expect((await readArchive(legacy, { trust })).history).toBe(false);
    const dest = new MemoryStore();
    const r = await importAgent(dest, legacy, { trust });
    expect(hex(r.head)).toBe(hex(fields(current).head)); // the same root commit a current export names
    expect(hex((await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(hex(r.head));
    const k = await bootStorage(dest.blocks);
    expect((await storage(k, 'history', { agent: AGENT, limit: 100 })).roots.map(hex)).toEqual([hex(state.second.root)]);
    await k.stop();
    expect(hex(await exportAgent(dest, AGENT, { key: operator }))).toBe(hex(current));
    await dest.close();
  });
});

/** `f` encoded, re-sealed by the trusted operator as if it had exported it: the block checks must still refuse it. */
function resealed(f: ArchiveFields, history = f.seal.history): Uint8Array {
  const { type: _t, signer: _s, sig: _g, ...body } = f.seal;
  const seal = signStatement(SEAL_TYPE, { ...body, head: f.head.length === 32 ? hex(f.head) : body.head, history, blocks: f.blocks.length }, operator);
  return encodeCbor({ ...f, seal });
}

/** `f` with its seal replaced by one that `key` signs over `body` (default: the seal's own body). */
function sealedBy(f: ArchiveFields, key: typeof operator, body: Partial<ArchiveFields['seal']> = {}, type = SEAL_TYPE): Uint8Array {
  const { type: _t, signer: _s, sig: _g, ...own } = f.seal;
  return encodeCbor({ ...f, seal: signStatement(type, { ...own, ...body }, key) });
}

/** Every archive block, from both archives: none may reach a store that refused an archive. */
const archivedBlocks = () => [...fields(full).blocks, ...fields(current).blocks, ...fields(otherArchive).blocks];

/**
 * Imports `bad` into an empty store and, with force, into one where AGENT and OTHER already have
 * heads: refused with `code` and `message` both times, and nothing written (refs and blocks as before).
 */
async function refusedAndNothingWritten(bad: Uint8Array, code: string, message: RegExp): Promise<void> {
  for (const force of [false, true]) {
    const dest = new MemoryStore();
    if (force) for (const [i, name] of [AGENT, OTHER].entries()) await dest.blocks.refCas(STORAGE_MODULE, headRef(name), 0, sha256(Uint8Array.of(i)));
    const before = await Promise.all([AGENT, OTHER].map((name) => dest.blocks.refGet(STORAGE_MODULE, headRef(name))));
    const e = await rejection(() => importAgent(dest, bad, { trust, force }));
    expect(e, String(e)).toBeInstanceOf(Mcp0Error);
    expect(e.code, e.message).toBe(code);
    expect(e.message).toMatch(message);
    expect(await Promise.all([AGENT, OTHER].map((name) => dest.blocks.refGet(STORAGE_MODULE, headRef(name))))).toEqual(before);
    expect((await dest.blocks.has(archivedBlocks().map(sha256))).filter(Boolean).length).toBe(0);
    await dest.close();
  }
}

describe('edited, grafted, untrusted and unsealed archives are refused (ESIGNATURE) and write nothing', () => {
  const flippedName = (where: 'seal' | 'archive' | 'both') => () => {
    const at = agentNameBytes(current, AGENT);
    const b = where === 'both' ? flipByte(flipByte(current, at.seal), at.archive) : flipByte(current, at[where]);
    expect(fields(b).agent).toBe(where === 'seal' ? AGENT : OTHER); // the edit did what it says
    return b;
  };
  const cases: [string, () => Uint8Array, RegExp][] = [
    [
      "one byte of the agent's name flipped (the archive's member): the seal still names the original",
      flippedName('archive'),
      /the seal says agent "agent-archive-1", the archive has "agent-archive-0"/,
    ],
    ["one byte of the agent's name flipped inside the seal", flippedName('seal'), /signature by .* does not verify/],
    ["one byte of both copies of the agent's name flipped", flippedName('both'), /signature by .* does not verify/],
    [
      'the head member changed',
      () => {
        const f = fields(current);
        f.head[0]! ^= 0x01;
        return encodeCbor(f);
      },
      /the seal says head "[0-9a-f]{64}", the archive has "[0-9a-f]{64}"/,
    ],
    [
      "the seal's history flag flipped",
      () => {
        const f = fields(current);
        f.seal.history = true;
        return encodeCbor(f);
      },
      /does not verify/,
    ],
    [
      "the seal's block count changed",
      () => {
        const f = fields(current);
        f.seal.blocks += 1;
        return encodeCbor(f);
      },
      /does not verify/,
    ],
    [
      "the seal's signature changed",
      () => {
        const f = fields(current);
        f.seal.sig = (f.seal.sig[0] === 'A' ? 'B' : 'A') + f.seal.sig.slice(1);
        return encodeCbor(f);
      },
      /does not verify/,
    ],
    [
      'a seal by an untrusted key',
      () => sealedBy(fields(current), stranger),
      new RegExp(`signed by ${stranger.kid}, which is not a trusted key \\(trusted: ${operator.kid}\\)`),
    ],
    [
      'renamed and re-sealed by an untrusted key',
      () => {
        const f = fields(current);
        f.agent = OTHER;
        return sealedBy(f, stranger, { agent: OTHER });
      },
      new RegExp(`signed by ${stranger.kid}, which is not a trusted key`),
    ],
    [
      "another agent's seal grafted on",
      () => {
        const f = fields(current);
        f.seal = fields(otherArchive).seal;
        return encodeCbor(f);
      },
      /the seal says agent "agent-archive-0", the archive has "agent-archive-1"/,
    ],
    [
      "another agent's seal grafted on, the name changed to match",
      () => {
        const f = fields(current);
        f.seal = fields(otherArchive).seal;
        f.agent = OTHER;
        return encodeCbor(f);
      },
      /the seal says head/,
    ],
    [
      "the seal of this agent's history archive grafted onto the current-state one",
      () => {
        const f = fields(current);
        f.seal = fields(full).seal;
        return encodeCbor(f);
      },
      /the seal says head "[0-9a-f]{64}", the archive has "[0-9a-f]{64}"/,
    ],
    [
      'a statement of another type, signed by the trusted key, as the seal',
      () => sealedBy(fields(current), operator, {}, 'mcp0.trace-checkpoint/1'),
      /expected a statement of type mcp0\.archive-seal\/1/,
    ],
    [
      'a seal whose signer is not a key id',
      () => {
        const f = fields(current);
        f.seal.signer = '\u001b[31mevil';
        return encodeCbor(f);
      },
      /signer: expected a key id .*\\u001b/,
    ],
    [
      'a version 1 archive: it predates seals',
      () => {
        const { seal: _s, ...f } = fields(current);
        return encodeCbor({ ...f, format: 'mcp0.archive/1' });
      },
      /format mcp0\.archive\/1 predates seals: .*agent "agent-archive-1".*Re-export .*--key/,
    ],
    [
      'a version 2 archive without its seal',
      () => {
        const { seal: _s, ...f } = fields(current);
        return encodeCbor(f);
      },
      /no seal/,
    ],
  ];

  it.each(cases)('%s', async (_what, make, message) => {
    await refusedAndNothingWritten(make(), 'ESIGNATURE', message);
  });

  it('an archive is refused when nothing is trusted, naming its signer', async () => {
    const e = await rejection(() => importAgent(new MemoryStore(), current, { trust: [] }));
    expect(e.code).toBe('ESIGNATURE');
    expect(e.message).toMatch(new RegExp(`signed by ${operator.kid}, which is not a trusted key \\(trusted: none\\)`));
  });

  it('every single-bit flip anywhere in a small archive (its blocks, its seal, its members) is refused', async () => {
    const mem = new MemoryStore();
    const k = await bootStorage(mem.blocks);
    await storage(k, 'put', { agent: 'tiny', key: '/a', value: new Uint8Array([1, 2, 3]) });
    await storage(k, 'put', { agent: 'tiny', key: '/b', value: new Uint8Array(100).fill(5) });
    await storage(k, 'put', { agent: 'tiny', key: '/c', value: new Uint8Array([4]) });
    await k.stop();
    const tiny = await exportAgent(mem, 'tiny', { key: operator, history: true });
    await mem.close();
    expect((await readArchive(tiny, { trust })).history).toBe(true);
    const accepted: string[] = [];
    const codes = new Set<string>();
    for (let at = 0; at < tiny.length; at++) {
      for (const mask of [0x01, 0x80]) {
        try {
          await readArchive(flipByte(tiny, at, mask), { trust });
          accepted.push(`byte ${at} ^ 0x${mask.toString(16)}`);
        } catch (e) {
          if (!(e instanceof Mcp0Error)) throw e;
          codes.add(e.code);
        }
      }
    }
    expect(accepted).toEqual([]);
    expect([...codes].sort()).toEqual(['EINPUT', 'ESIGNATURE']);
  });
});

describe('damaged archives are refused (EINPUT) and leave the destination unchanged', () => {
  // Re-sealed by the trusted key after the damage: the seal vouches for them, the block checks do not.
  const resealedCases: [string, () => Uint8Array, RegExp][] = [
    [
      'a flipped byte in a block',
      () => {
        const f = fields(full);
        const b = new Uint8Array(f.blocks[5]!);
        b[b.length >> 1]! ^= 0x01;
        f.blocks[5] = b;
        return resealed(f);
      },
      /missing|not referenced|block/,
    ],
    [
      'a flipped byte in a value block',
      () => {
        const f = fields(full);
        const i = f.blocks.findIndex((b) => b.length === 100);
        const b = new Uint8Array(f.blocks[i]!);
        b[50]! ^= 0x80;
        f.blocks[i] = b;
        return resealed(f);
      },
      /missing/,
    ],
    [
      'a flipped byte in the head commit',
      () => {
        const f = fields(current);
        const b = new Uint8Array(f.blocks[0]!);
        b[b.length - 1]! ^= 0x01;
        f.blocks[0] = b;
        return resealed(f);
      },
      /head commit .* is not among the blocks/,
    ],
    [
      'a dropped block',
      () => {
        const f = fields(full);
        f.blocks.splice(7, 1);
        return resealed(f);
      },
      /missing/,
    ],
    [
      'a dropped parent commit',
      () => {
        const f = fields(full);
        const parent = (decodeCbor(f.blocks[0]!) as { parent: Uint8Array }).parent;
        f.blocks = f.blocks.filter((b) => hex(sha256(b)) !== hex(parent));
        return resealed(f, false);
      },
      /not referenced/,
    ],
    [
      'a dropped tree of an earlier version',
      () => {
        const f = fields(full);
        f.blocks = f.blocks.filter((b) => hex(sha256(b)) !== hex(sourceHistory[1]!));
        return resealed(f);
      },
      /missing/,
    ],
    [
      'an extra unreferenced block',
      () => {
        const f = fields(current);
        f.blocks.push(new TextEncoder().encode('not part of this state'));
        return resealed(f);
      },
      /not referenced/,
    ],
    [
      'a duplicated block',
      () => {
        const f = fields(current);
        f.blocks.push(f.blocks[3]!);
        return resealed(f);
      },
      /twice/,
    ],
    [
      'blocks out of the order export walks them',
      () => {
        const f = fields(current);
        [f.blocks[1], f.blocks[2]] = [f.blocks[2]!, f.blocks[1]!];
        return resealed(f);
      },
      /blocks\[1\]: expected block [0-9a-f]{64} \(archives list blocks in the order export walks them/,
    ],
    ['an extra field', () => encodeCbor({ ...fields(current), note: 'x' }), /keys/],
    ['a head that is not 32 bytes', () => encodeCbor({ ...fields(current), head: new Uint8Array(31) }), /head/],
  ];
  const rawCases: [string, () => Uint8Array, RegExp][] = [
    [
      'a flipped byte in the middle of the file',
      () => {
        const b = new Uint8Array(full);
        b[b.length >> 1]! ^= 0x01;
        return b;
      },
      /archive/,
    ],
    ['a truncated file', () => full.slice(0, full.length - 100), /truncated/],
    ['a truncated file (one byte short)', () => full.slice(0, full.length - 1), /truncated/],
    [
      'an unknown format',
      () => {
        const f = fields(current);
        f.format = 'mcp0.archive/3';
        return encodeCbor(f);
      },
      /format: expected "mcp0\.archive\/2", got "mcp0\.archive\/3"/,
    ],
    [
      'the right content, not in deterministic CBOR (map keys out of order)',
      () => {
        const f = fields(current);
        const pairs = (['format', 'agent', 'head', 'blocks', 'seal'] as const).map((k) => Buffer.concat([encodeCbor(k), encodeCbor(f[k])]));
        return new Uint8Array(Buffer.concat([Uint8Array.of(0xa5), ...pairs]));
      },
      /not in deterministic CBOR/,
    ],
    ['not CBOR', () => new TextEncoder().encode('hello'), /archive/],
    ['empty', () => new Uint8Array(0), /archive/],
  ];

  it.each([...resealedCases, ...rawCases])('%s', async (_what, make, message) => {
    await refusedAndNothingWritten(make(), 'EINPUT', message);
  });

  it('a refused archive leaves existing state in a store untouched', async () => {
    const dest = new MemoryStore();
    await importAgent(dest, current, { trust });
    const before = await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT));
    const f = fields(full);
    f.blocks.pop();
    expect(await rejection(() => importAgent(dest, resealed(f), { trust, force: true }))).toMatchObject({ code: 'EINPUT' });
    expect(await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT))).toEqual(before);
    const extra = fields(full).blocks.filter((b) => !fields(current).blocks.some((c) => hex(c) === hex(b)));
    expect((await dest.blocks.has(extra.map(sha256))).filter(Boolean).length).toBe(0);
    await dest.close();
  });
});
