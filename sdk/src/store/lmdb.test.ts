// The Store contract against LMDB (each store in a fresh temporary directory), plus LMDB specifics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from './contract.test-support.js';
import { LmdbStore, retried } from './lmdb.js';
import { openStore } from './open.js';

const root = mkdtempSync(join(tmpdir(), 'mcp0-lmdb-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

storeContract('lmdb', (faults) => openStore(`lmdb:${join(root, `store-${n++}`)}`, { faults }));

describe('lmdb store', () => {
  it('answers reads and writes synchronously (usable from the inline tier)', async () => {
    const store = LmdbStore.open(join(root, 'sync'));
    const ids = store.blocks.put([new Uint8Array([1, 2, 3])]);
    expect(ids[0]).toBeInstanceOf(Uint8Array);
    expect(store.blocks.refCas('ns', 'head', 0, ids[0]!)).toBe(1);
    expect(store.kv.put('ns', 'k', new Uint8Array([9]))).toBeUndefined();
    expect(store.kv.scan('ns', '', 10)).toHaveLength(1);
    await store.close();
  });

  it('sees writes made by another handle on the same directory (the CAS is atomic across handles)', async () => {
    const dir = join(root, 'shared');
    const a = LmdbStore.open(dir);
    const b = LmdbStore.open(dir);
    const [id] = a.blocks.put([new Uint8Array([7])]);
    expect(b.blocks.refCas('ns', 'head', 0, id!)).toBe(1);
    expect(() => a.blocks.refCas('ns', 'head', 0, id!)).toThrow(expect.objectContaining({ code: 'ECONFLICT' }));
    expect(a.blocks.refGet('ns', 'head')?.version).toBe(1);
    await a.close();
    await b.close();
  });
});

describe('openStore lmdb: with create: false (issue 13)', () => {
  it('refuses a directory that holds no store (ENOTFOUND, "no store at …") and creates nothing; opens one that does', async () => {
    const { existsSync } = await import('node:fs');
    const typo = join(root, 'typo', 'data');
    await expect(openStore(`lmdb:${typo}`, { create: false })).rejects.toMatchObject({
      code: 'ENOTFOUND',
      message: expect.stringMatching(/^no store at lmdb:.*typo\/data: .* does not exist/),
    });
    expect(existsSync(typo)).toBe(false);
    const empty = mkdtempSync(join(root, 'empty-'));
    await expect(openStore(`lmdb:${empty}`, { create: false })).rejects.toMatchObject({
      code: 'ENOTFOUND',
      message: expect.stringContaining('holds no LMDB store'),
    });
    const made = await openStore(`lmdb:${join(root, 'made')}`);
    made.kv.put('ns', 'k', new Uint8Array([1]));
    await made.close();
    const reopened = await openStore(`lmdb:${join(root, 'made')}`, { create: false });
    expect(reopened.kv.get('ns', 'k')).toEqual(new Uint8Array([1]));
    await reopened.close();
  });
});

describe('lmdb-js spurious freelist aborts', () => {
  const spurious = () =>
    new Error('MDB_BAD_TXN: Transaction must abort, has a child, or is invalid: reserved freelist had a data entry with zero-size, last id 1\n');

  it('runs the write again after the spurious abort, and answers its result', () => {
    let calls = 0;
    expect(
      retried(() => {
        if (++calls < 3) throw spurious();
        return 'written';
      }),
    ).toBe('written');
    expect(calls).toBe(3);
  });

  it('gives up after four attempts, and never retries any other error', () => {
    let calls = 0;
    expect(() =>
      retried(() => {
        calls++;
        throw spurious();
      }),
    ).toThrow(/reserved freelist/);
    expect(calls).toBe(4);
    calls = 0;
    expect(() =>
      retried(() => {
        calls++;
        throw new Error('MDB_MAP_FULL: Environment mapsize limit reached');
      }),
    ).toThrow(/MDB_MAP_FULL/);
    expect(calls).toBe(1);
  });
});
