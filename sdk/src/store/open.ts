/**
 * `openStore(uri)`: the one way the SDK turns a store URI (`lmdb:./data`, `memory:`) into a Store.
 * Each scheme maps to one implementation; an unknown scheme is a usage error naming the known ones.
 */
import { UsageError } from '@mcp0/abi';
import { LmdbStore } from './lmdb.js';
import { MemoryStore } from './memory.js';
import type { Store } from './types.js';

/**
 * The schemes `openStore` serves.
 * @example
 * STORE_SCHEMES.some((s) => uri.startsWith(s))
 */
export const STORE_SCHEMES = ['lmdb:', 'memory:'] as const;

/**
 * Opens the store named by `uri`: `lmdb:<dir>` (durable, embedded) or `memory:` (volatile).
 * Throws `EUSAGE` for any other scheme (`mongodb://` is not served yet).
 * @example
 * const store = await openStore('lmdb:./data')
 * const dev = await openStore('memory:')
 */
export async function openStore(uri: string): Promise<Store> {
  if (typeof uri !== 'string') throw new UsageError('EUSAGE', `openStore: expected a URI string, got ${typeof uri}`);
  if (uri.startsWith('lmdb:')) {
    const dir = uri.slice('lmdb:'.length);
    if (dir === '') throw new UsageError('EUSAGE', `openStore "${uri}": lmdb: needs a directory, e.g. lmdb:./data`, { uri });
    return LmdbStore.open(dir);
  }
  if (uri === 'memory:') return new MemoryStore();
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(uri)?.[0] ?? '(none)';
  const hint = scheme.startsWith('mongodb') ? '; the MongoDB store is not available yet' : '';
  throw new UsageError('EUSAGE', `openStore "${uri}": unsupported scheme ${scheme}, expected one of ${STORE_SCHEMES.join(', ')}${hint}`, {
    uri,
    scheme,
    supported: [...STORE_SCHEMES],
  });
}
