/**
 * `openStore(uri)`: the one way the SDK turns a store URI (`lmdb:./data`, `memory:`,
 * `mongodb://host/db`) into a Store.
 * Each scheme maps to one implementation; an unknown scheme is a usage error naming the known ones.
 */
import { UsageError } from '@mcp0/abi';
import { LmdbStore } from './lmdb.js';
import { MemoryStore } from './memory.js';
import { MongoStore } from './mongo.js';
import type { Store } from './types.js';

/**
 * The schemes `openStore` serves.
 * @example
 * STORE_SCHEMES.some((s) => uri.startsWith(s))
 */
export const STORE_SCHEMES = ['lmdb:', 'memory:', 'mongodb:', 'mongodb+srv:'] as const;

/**
 * Opens the store named by `uri`: `lmdb:<dir>` (durable, embedded), `memory:` (volatile), or
 * `mongodb://…` / `mongodb+srv://…` (shared; the database is the URI's path, default `mcp0`; an
 * unreachable server is `EUNAVAILABLE`). Throws `EUSAGE` for any other scheme.
 * @example
 * const store = await openStore('lmdb:./data')
 * const dev = await openStore('memory:')
 * const shared = await openStore('mongodb://127.0.0.1:27017/mcp0')
 */
export async function openStore(uri: string): Promise<Store> {
  if (typeof uri !== 'string') throw new UsageError('EUSAGE', `openStore: expected a URI string, got ${typeof uri}`);
  if (uri.startsWith('lmdb:')) {
    const dir = uri.slice('lmdb:'.length);
    if (dir === '') throw new UsageError('EUSAGE', `openStore "${uri}": lmdb: needs a directory, e.g. lmdb:./data`, { uri });
    return LmdbStore.open(dir);
  }
  if (uri === 'memory:') return new MemoryStore();
  if (/^mongodb(\+srv)?:\/\//i.test(uri)) return MongoStore.connect(uri);
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(uri)?.[0] ?? '(none)';
  const hint = scheme.toLowerCase().startsWith('mongo') ? '; write mongodb://host[:port]/database' : '';
  throw new UsageError('EUSAGE', `openStore "${uri}": unsupported scheme ${scheme}, expected one of ${STORE_SCHEMES.join(', ')}${hint}`, {
    uri,
    scheme,
    supported: [...STORE_SCHEMES],
  });
}
