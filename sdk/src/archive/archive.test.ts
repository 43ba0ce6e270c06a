// Backup and restore of an agent's storage state: state written by the real storage plugin into
// LMDB, exported, imported into memory, MongoDB (FerretDB) and a fresh LMDB, and read back through
// the plugin on the destination; damaged archives are refused and leave the destination untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import { rejection } from '../../test/rejection.js';
import { startMongo } from '../../test/mongo/server.js';
import { LmdbStore, MemoryStore, openStore, type Store } from '../store/index.js';
import { sha256 } from '../store/codec.js';
import { ARCHIVE_FORMAT, exportAgent, importAgent, readArchive, STORAGE_MODULE, headRef } from './index.js';
import { bootStorage, listAll, storage, writeState } from './archive.test-support.js';

const mongo = await startMongo();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mcp0-archive-'));
  dirs.push(d);
  return d;
};
const AGENT = 'agent-archive-1';

/** The archive's fields, decoded. */
const fields = (bytes: Uint8Array) => decodeCbor(bytes) as { format: string; agent: string; head: Uint8Array; blocks: Uint8Array[] };

let source: LmdbStore;
let kernel: Kernel;
let state: Awaited<ReturnType<typeof writeState>>;
let sourceHead: { root: Uint8Array; version: number };
let sourceHistory: Uint8Array[];
let current: Uint8Array;
let full: Uint8Array;

beforeAll(async () => {
  source = LmdbStore.open(tempDir());
  kernel = await bootStorage(source.blocks);
  state = await writeState(kernel, AGENT);
  sourceHead = (await source.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!;
  sourceHistory = (await storage(kernel, 'history', { agent: AGENT, limit: 100 })).roots;
  current = await exportAgent(source, AGENT);
  full = await exportAgent(source, AGENT, { history: true });
});

afterAll(async () => {
  await kernel?.stop();
  await source?.close();
  await mongo?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Imports `archive` into `dest`, loads the plugin there, and checks head, root and every value. */
async function roundTrip(dest: Store, archive: Uint8Array, tier: 'inline' | 'worker' = 'inline'): Promise<Kernel> {
  const r = await importAgent(dest, archive);
  expect(r.agent).toBe(AGENT);
  expect(hex(r.root)).toBe(hex(state.second.root));
  expect(hex(r.head)).toBe(hex(sourceHead.root));
  expect(r.version).toBe(1);
  const ref = (await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!;
  expect(hex(ref.root)).toBe(hex(sourceHead.root));
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
  it('writes deterministic CBOR {format, agent, head, blocks}: the head commit, its tree and out-of-line values', async () => {
    expect(state.entries.length).toBe(291);
    const a = fields(current);
    expect(Object.keys(a).sort()).toEqual(['agent', 'blocks', 'format', 'head']);
    expect(a.format).toBe(ARCHIVE_FORMAT);
    expect(a.agent).toBe(AGENT);
    expect(hex(a.head)).toBe(hex(sourceHead.root));
    expect(hex(sha256(a.blocks[0]!))).toBe(hex(a.head)); // the head commit first
    expect(hex(encodeCbor(a))).toBe(hex(current)); // deterministic
    expect(hex(await exportAgent(source, AGENT))).toBe(hex(current)); // and stable
    // 100 out-of-line values (one per third key, the 200-byte extra, minus deleted ones) + nodes + commit.
    const info = await readArchive(current);
    expect(info.history).toBe(false);
    expect(hex(info.root)).toBe(hex(state.second.root));
    const outOfLine = state.entries.filter(([, v]) => v.length > 64).length;
    expect(a.blocks.filter((b) => b.length > 64 && b.length <= 200 && b[0] === 0).length).toBeGreaterThan(0);
    expect(a.blocks.length).toBeGreaterThan(outOfLine + 1);
    // Every block is stored in the source under its hash.
    expect(await source.blocks.has(a.blocks.map(sha256))).toEqual(a.blocks.map(() => true));
  });

  it('with history, also holds every parent commit and its tree', async () => {
    const a = fields(full);
    const info = await readArchive(full);
    expect(info.history).toBe(true);
    expect(a.blocks.length).toBeGreaterThan(fields(current).blocks.length);
    const ids = new Set(a.blocks.map((b) => hex(sha256(b))));
    expect(sourceHistory.length).toBe(3);
    for (const root of sourceHistory) expect(ids.has(hex(root))).toBe(true);
    expect(ids.has(hex(state.first.root))).toBe(true);
    expect(fields(current).blocks.some((b) => hex(sha256(b)) === hex(state.first.root))).toBe(false);
  });

  it('refuses an agent without state (ENOTFOUND) and a bad agent id (EUSAGE)', async () => {
    expect(await rejection(() => exportAgent(source, 'nobody'))).toMatchObject({ code: 'ENOTFOUND' });
    expect(await rejection(() => exportAgent(source, ''))).toMatchObject({ code: 'EUSAGE' });
  });

  it('refuses to export state with a missing block', async () => {
    const mem = new MemoryStore();
    const a = fields(current);
    await importAgent(mem, current);
    await mem.deleteBlocks([sha256(a.blocks[a.blocks.length - 1]!)]);
    const e = await rejection(() => exportAgent(mem, AGENT));
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
    expect((await importAgent(dest, full)).version).toBe(1);
    // And back: exported from MongoDB into a fresh LMDB, the head, the root ids and the history are unchanged.
    const back = await exportAgent(dest, AGENT, { history: true });
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
    const e = await rejection(() => importAgent(dest, current));
    expect(e.code).toBe('ECONFLICT');
    expect(e.message).toMatch(/force/);
    // Nothing written: the ref and the archive's blocks are as before.
    expect(hex((await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(hex(before.root));
    expect((await dest.blocks.has(fields(current).blocks.map(sha256))).filter(Boolean).length).toBe(0);
    const r = await importAgent(dest, current, { force: true });
    expect(r.version).toBe(before.version + 1);
    expect(hex((await storage(k, 'snapshot', { agent: AGENT })).root)).toBe(hex(state.second.root));
    expect((await importAgent(dest, current)).version).toBe(r.version);
    await k.stop();
    await dest.close();
  });
});

describe('damaged archives are refused (EINPUT) and leave the destination unchanged', () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['a flipped byte in a block', () => { const f = fields(full); const b = new Uint8Array(f.blocks[5]!); b[b.length >> 1]! ^= 0x01; f.blocks[5] = b; return encodeCbor(f); }, /missing|not referenced|block/],
    ['a flipped byte in a value block', () => { const f = fields(full); const i = f.blocks.findIndex((b) => b.length === 100); const b = new Uint8Array(f.blocks[i]!); b[50]! ^= 0x80; f.blocks[i] = b; return encodeCbor(f); }, /missing/],
    ['a flipped byte in the head commit', () => { const f = fields(current); const b = new Uint8Array(f.blocks[0]!); b[b.length - 1]! ^= 0x01; f.blocks[0] = b; return encodeCbor(f); }, /head commit .* is not among the blocks/],
    ['a flipped byte in the middle of the file', () => { const b = new Uint8Array(full); b[b.length >> 1]! ^= 0x01; return b; }, /archive/],
    ['a dropped block', () => { const f = fields(full); f.blocks.splice(7, 1); return encodeCbor(f); }, /missing/],
    ['a dropped parent commit', () => { const f = fields(full); const parent = (decodeCbor(f.blocks[0]!) as { parent: Uint8Array }).parent; f.blocks = f.blocks.filter((b) => hex(sha256(b)) !== hex(parent)); return encodeCbor(f); }, /not referenced/],
    ['a dropped tree of an earlier version', () => { const f = fields(full); f.blocks = f.blocks.filter((b) => hex(sha256(b)) !== hex(sourceHistory[1]!)); return encodeCbor(f); }, /missing/],
    ['a truncated file', () => full.slice(0, full.length - 100), /truncated/],
    ['a truncated file (one byte short)', () => full.slice(0, full.length - 1), /truncated/],
    ['an extra unreferenced block', () => { const f = fields(current); f.blocks.push(new TextEncoder().encode('not part of this state')); return encodeCbor(f); }, /not referenced/],
    ['a duplicated block', () => { const f = fields(current); f.blocks.push(f.blocks[3]!); return encodeCbor(f); }, /twice/],
    ['a wrong format', () => { const f = fields(current); f.format = 'mcp0.archive/2'; return encodeCbor(f); }, /format/],
    ['an extra field', () => encodeCbor({ ...fields(current), note: 'x' }), /keys/],
    ['a head that is not 32 bytes', () => encodeCbor({ ...fields(current), head: new Uint8Array(31) }), /head/],
    ['not CBOR', () => new TextEncoder().encode('hello'), /archive/],
    ['empty', () => new Uint8Array(0), /archive/],
  ];

  it.each(cases)('%s', async (_what, make, message) => {
    const dest = new MemoryStore();
    const bad = make();
    const e = await rejection(() => importAgent(dest, bad));
    expect(e.code, e.message).toBe('EINPUT');
    expect(e.message).toMatch(message);
    expect(await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT))).toBeUndefined();
    const all = [...fields(full).blocks, ...fields(current).blocks];
    expect((await dest.blocks.has(all.map(sha256))).filter(Boolean).length).toBe(0);
    await dest.close();
  });

  it('a refused archive leaves existing state in a store untouched', async () => {
    const dest = new MemoryStore();
    await importAgent(dest, current);
    const before = await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT));
    const f = fields(full);
    f.blocks.pop();
    expect(await rejection(() => importAgent(dest, encodeCbor(f), { force: true }))).toMatchObject({ code: 'EINPUT' });
    expect(await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT))).toEqual(before);
    const extra = fields(full).blocks.filter((b) => !fields(current).blocks.some((c) => hex(c) === hex(b)));
    expect((await dest.blocks.has(extra.map(sha256))).filter(Boolean).length).toBe(0);
    await dest.close();
  });
});
