/**
 * The embedded durable Store on LMDB (the `lmdb` package): one environment directory with four
 * sub-databases, `blocks` (id → bytes), `btimes` (id → last write time, 8-byte big-endian ms, for
 * gc's grace period), `refs` (namespaced name → version + root) and `kv` (namespaced key → value),
 * all with binary keys and values. Every answer is synchronous: reads
 * are memory-mapped, and each write is one synchronous LMDB transaction, committed before the call
 * returns, so an acknowledged write survives `kill -9`, and inline-tier modules can use the store.
 */
import { mkdirSync } from 'node:fs';
import { CallError } from '@mcp0/abi';
import { type Database, open, type RootDatabase } from 'lmdb';
import { startsWith } from './codec.js';
import type { StoreFaults } from './faults.js';
import { type RawSpaces, SyncStore } from './sync-store.js';

/**
 * Options of `LmdbStore.open`: what is passed through to `lmdb.open` (the defaults are the
 * crash-safe ones), and fault hooks for tests.
 * @example
 * LmdbStore.open('./data', { overlappingSync: true }) // faster commits, weaker durability
 */
export interface LmdbOptions {
  /**
   * Whether a commit may return before its fsync finishes (lmdb's own default on Linux and macOS).
   * Default `false` here: every commit is on disk when the call returns, and with it on, lmdb-js
   * 3.5 intermittently failed synchronous transactions with `MDB_BAD_TXN: … reserved freelist had a
   * data entry with zero-size` under the storage benchmark (1 run in 3; with it off, rarely, at no
   * measurable cost to synchronous commits: the transaction is then run again, see `retried`).
   */
  overlappingSync?: boolean;
  /** Fault hooks, for tests and conformance runs only (see StoreFaults). */
  faults?: StoreFaults;
}

/**
 * A Store in an LMDB environment directory (created when missing). Survives process restarts.
 * @example
 * const store = LmdbStore.open('./data')
 * const [id] = store.blocks.put([bytes])
 * store.blocks.refCas('agent-1', 'head', 0, id) // 1
 * await store.close()
 */
export class LmdbStore extends SyncStore {
  private constructor(dir: string, raw: RawSpaces, faults?: StoreFaults) {
    super(`lmdb:${dir}`, true, raw, faults);
  }

  /**
   * Opens (or creates) the environment in `dir`. Throws `EUNAVAILABLE` when LMDB cannot open it.
   * @example
   * const store = LmdbStore.open('./data') // store.uri === 'lmdb:./data'
   */
  static open(dir: string, options: LmdbOptions = {}): LmdbStore {
    let env: RootDatabase;
    try {
      mkdirSync(dir, { recursive: true });
      env = open({ path: dir, maxDbs: 8, noSync: false, overlappingSync: options.overlappingSync ?? false, compression: false });
    } catch (cause) {
      throw new CallError('EUNAVAILABLE', `lmdb:${dir}: cannot open the environment: ${(cause as Error).message}`, { dir }, { cause });
    }
    return new LmdbStore(dir, lmdbSpaces(env), options.faults);
  }
}

/** A write time as stored in `btimes`: 8 bytes, big-endian ms. */
function time(ms: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(ms))));
  return b;
}

/** The stored write time, 0 when the block predates write times. */
function writtenAt(b: Buffer | undefined): number {
  return b && b.length === 8 ? Number(b.readBigUInt64BE(0)) : 0;
}

/**
 * lmdb-js 3.5's freelist save (mdb_freelist_save in its patched mdb.c) tests a record's size before
 * the lookup's result, so a record that is not there (which it then treats as fine) can read as
 * "zero-size" from an unset value and abort the commit with `MDB_BAD_TXN: … reserved freelist had a
 * data entry with zero-size`. The transaction is rolled back whole, so running it again is safe,
 * and it passes: the storage benchmark hit this about once in three runs.
 */
const SPURIOUS_FREELIST = /MDB_BAD_TXN[\s\S]*reserved freelist had a data entry with zero-size/;
let warned = false;

/**
 * Runs `write` (one synchronous LMDB write transaction), again when lmdb-js aborts it spuriously.
 * Module-internal (the package entry does not export it); exported for its test.
 * @example
 * retried(() => env.transactionSync(() => refs.putSync(k, v)))
 */
export function retried<T>(write: () => T): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return write();
    } catch (e) {
      if (attempt >= 4 || !SPURIOUS_FREELIST.test(String((e as Error)?.message))) throw e;
      if (!warned) {
        warned = true;
        process.emitWarning('lmdb-js aborted a commit with its spurious "reserved freelist … zero-size" error; the transaction was run again', {
          code: 'MCP0_LMDB_FREELIST',
        });
      }
    }
  }
}

function lmdbSpaces(env: RootDatabase): RawSpaces {
  const sub = (name: string): Database<Buffer, Buffer> => env.openDB<Buffer, Buffer>({ name, encoding: 'binary', keyEncoding: 'binary', cache: false });
  const blocks = sub('blocks');
  const times = sub('btimes');
  const refs = sub('refs');
  const kv = sub('kv');
  /** lmdb returns Buffers; callers get plain Uint8Array views of them (no copy). */
  const view = (b: Buffer | undefined): Uint8Array | undefined => b && new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const key = (k: Uint8Array): Buffer => Buffer.from(k.buffer, k.byteOffset, k.byteLength);
  return {
    getBlock: (id) => view(blocks.get(key(id))),
    hasBlock: (id) => blocks.doesExist(key(id)),
    putBlocksIfAbsent(entries, now) {
      if (entries.length === 0) return;
      const stamp = time(now);
      retried(() =>
        env.transactionSync(() => {
          for (const [id, bytes] of entries) {
            blocks.putSync(key(id), key(bytes), { noOverwrite: true });
            times.putSync(key(id), stamp);
          }
        }),
      );
    },
    overwriteBlock: (id, bytes) => void retried(() => blocks.putSync(key(id), key(bytes))),
    deleteBlocks(ids, writtenBefore) {
      let n = 0;
      retried(() =>
        env.transactionSync(() => {
          for (const id of ids) {
            if (writtenBefore !== Infinity && writtenAt(times.get(key(id))) >= writtenBefore) continue;
            if (blocks.removeSync(key(id))) n++;
            times.removeSync(key(id));
          }
        }),
      );
      return n;
    },
    blockRange(after, limit) {
      const out: [Uint8Array, number][] = [];
      for (const k of blocks.getKeys(after ? { start: key(after) } : {})) {
        if (after && Buffer.compare(k, after) === 0) continue;
        if (out.length === limit) break;
        out.push([new Uint8Array(k), writtenAt(times.get(k))]);
      }
      return out;
    },
    refRange(within, start, limit) {
      const out: Uint8Array[] = [];
      for (const k of refs.getKeys({ start: key(start) })) {
        if (out.length === limit || !startsWith(k, within)) break;
        out.push(new Uint8Array(k));
      }
      return out;
    },
    getRef: (k) => view(refs.get(key(k))),
    updateRef(k, next) {
      retried(() =>
        env.transactionSync(() => {
          const current = view(refs.get(key(k)));
          refs.putSync(key(k), key(next(current)));
        }),
      );
    },
    kvGet: (k) => view(kv.get(key(k))),
    kvPut: (k, value) => void retried(() => kv.putSync(key(k), key(value))),
    kvDelete: (k) => retried(() => kv.removeSync(key(k))),
    kvRange(within, start, limit) {
      const out: [Uint8Array, Uint8Array][] = [];
      for (const { key: k, value } of kv.getRange({ start: key(start) })) {
        if (out.length === limit || !startsWith(k, within)) break;
        out.push([view(k)!, view(value)!]);
      }
      return out;
    },
    close: () => env.close(),
  };
}
