/**
 * `openStore(uri)`: the one way the SDK turns a store URI (`lmdb:./data`, `memory:`,
 * `mongodb://host/db`) into a Store.
 * Each scheme maps to one implementation; an unknown scheme is a usage error naming the known ones.
 * A driver is loaded when a URI asks for it (lmdb's native binding, the MongoDB driver): a program
 * that never opens a MongoDB store never loads the driver.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CallError, UsageError } from '@mcp0/abi';
import type { StoreFaults } from './faults.js';
import { MemoryStore } from './memory.js';
import type { Store } from './types.js';

/**
 * The schemes `openStore` serves.
 * @example
 * STORE_SCHEMES.some((s) => uri.startsWith(s))
 */
export const STORE_SCHEMES = ['lmdb:', 'memory:', 'mongodb:', 'mongodb+srv:'] as const;

/**
 * `openStore` options.
 * @example
 * await openStore('lmdb:./data', { create: false })            // ENOTFOUND when ./data holds no store
 * await openStore('mongodb://db/mcp0', { synchronous: true })  // MongoSyncStore: inline plugins can use it
 */
export interface OpenStoreOptions {
  /**
   * Create the store when it does not exist (default true). With `false`, a store that does not
   * exist yet is `ENOTFOUND` ("no store at …"): an LMDB directory without its `data.mdb`, a MongoDB
   * database without the store's collections. `memory:` is always new, and always opens.
   */
  create?: boolean;
  /**
   * Answer every call synchronously (default false). LMDB and memory always do; for `mongodb://`
   * this opens a MongoSyncStore (the bridge: an I/O thread does the database calls while the
   * calling thread waits) instead of the asynchronous MongoStore. A node needs it: the standard
   * distribution runs storage, agreements and trace in the inline tier, which cannot wait for a
   * promise (`Node.start` with a URI asks for it).
   */
  synchronous?: boolean;
  /** Fault hooks, for tests and conformance runs only (see StoreFaults), given to the store opened. */
  faults?: StoreFaults;
}

/**
 * Opens the store named by `uri`: `lmdb:<dir>` (durable, embedded), `memory:` (volatile), or
 * `mongodb://…` / `mongodb+srv://…` (shared; the database is the URI's path, default `mcp0`; an
 * unreachable server is `EUNAVAILABLE`). Throws `EUSAGE` for any other scheme, and `ENOTFOUND`
 * for a store that does not exist when `create` is false.
 * @example
 * const store = await openStore('lmdb:./data')
 * const dev = await openStore('memory:')
 * const shared = await openStore('mongodb://127.0.0.1:27017/mcp0')
 * const existing = await openStore('lmdb:./data', { create: false })
 */
export async function openStore(uri: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (typeof uri !== 'string') throw new UsageError('EUSAGE', `openStore: expected a URI string, got ${typeof uri}`);
  const create = options.create ?? true;
  const faults = options.faults === undefined ? {} : { faults: options.faults };
  if (uri.startsWith('lmdb:')) {
    const dir = uri.slice('lmdb:'.length);
    if (dir === '') throw new UsageError('EUSAGE', `openStore "${uri}": lmdb: needs a directory, e.g. lmdb:./data`, { uri });
    if (!create && !existsSync(join(dir, 'data.mdb')))
      throw missing(uri, existsSync(dir) ? `${dir} holds no LMDB store (no data.mdb)` : `${dir} does not exist`);
    const { LmdbStore } = await import('./lmdb.js');
    return LmdbStore.open(dir, faults);
  }
  if (uri === 'memory:') return new MemoryStore(faults);
  if (/^mongodb(\+srv)?:\/\//i.test(uri)) {
    const { MongoStore } = await import('./mongo/index.js');
    if (!create) {
      // Checked on a connection of its own: the bridge's I/O thread serves only the Store calls.
      // The probe is the store returned when it is asynchronous, so it gets the faults then.
      const probe = await MongoStore.connect(uri, options.synchronous ? {} : faults);
      let exists = false;
      try {
        exists = await probe.exists();
      } finally {
        if (!exists || options.synchronous) await probe.close();
      }
      if (!exists) throw missing(uri, `the database ${probe.database} holds no store (none of its collections)`);
      if (!options.synchronous) return probe;
    }
    if (!options.synchronous) return MongoStore.connect(uri, faults);
    const { MongoSyncStore } = await import('./bridge.js');
    return MongoSyncStore.open(uri, faults);
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(uri)?.[0] ?? '(none)';
  const hint = scheme.toLowerCase().startsWith('mongo') ? '; write mongodb://host[:port]/database' : '';
  throw new UsageError('EUSAGE', `openStore "${uri}": unsupported scheme ${scheme}, expected one of ${STORE_SCHEMES.join(', ')}${hint}`, {
    uri,
    scheme,
    supported: [...STORE_SCHEMES],
  });
}

function missing(uri: string, why: string): CallError {
  const shown = uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/i, (_, scheme: string, credentials: string) => `${scheme}${credentials.split(':')[0]}:***@`);
  return new CallError('ENOTFOUND', `no store at ${shown}: ${why} (a command that creates agents, such as agent spawn or start, creates it)`, {
    uri: shown,
    reason: 'no-store',
  });
}
