/**
 * MongoStore's options and its URI: the defaults it applies, the database a URI names, and the URI
 * as shown in messages (without its password).
 */
import { UsageError } from '@mcp0/abi';
import type { MongoClientOptions } from 'mongodb';
import type { StoreFaults } from '../faults.js';

/**
 * The driver options MongoStore sets when neither the URI nor `options.client` does, and its retry
 * policy.
 * @example
 * MongoStore.connect(`mongodb://db:27017/mcp0?serverSelectionTimeoutMS=1000`)
 */
export const MONGO_DEFAULTS = {
  /** How long an operation waits for a usable server before it fails with `EUNAVAILABLE`. */
  serverSelectionTimeoutMS: 5_000,
  /** How long opening one TCP/TLS connection may take. */
  connectTimeoutMS: 5_000,
  /** How long a socket may stay silent during an operation. */
  socketTimeoutMS: 60_000,
  /** Extra attempts for operations that are safe to repeat. */
  retries: 2,
  /** The pause before each extra attempt, in ms (the last one repeats). */
  backoffMs: [50, 250] as readonly number[],
  /** The database when the URI names none. */
  database: 'mcp0',
  /** Bytes of blocks kept in the process's LRU block cache (0: none). */
  cacheBytes: 32 << 20,
} as const;

/**
 * Options of `MongoStore.connect`.
 * @example
 * await MongoStore.connect(uri, { client: { serverSelectionTimeoutMS: 500 }, retries: 0 })
 */
export interface MongoStoreOptions {
  /** Driver options; they win over the URI's query and MONGO_DEFAULTS. */
  client?: MongoClientOptions;
  /** Extra attempts for operations that are safe to repeat (default 2). */
  retries?: number;
  /** Bytes of blocks kept in an LRU cache in this process (default 32 MiB; 0 turns it off). */
  cacheBytes?: number;
  /** Fault hooks, for tests and conformance runs only (see StoreFaults). */
  faults?: StoreFaults;
}

/**
 * The URI's database (its path), or `mcp0`; `EUSAGE` for a name MongoDB refuses.
 * @example
 * databaseName('mongodb://db:27017/agents?directConnection=true') // 'agents'
 */
export function databaseName(uri: string): string {
  const rest = uri.replace(/^mongodb(\+srv)?:\/\//i, '');
  const hostsEnd = rest.search(/[/?]/);
  if (hostsEnd < 0 || rest[hostsEnd] === '?') return MONGO_DEFAULTS.database;
  const path = rest.slice(hostsEnd + 1).split('?')[0]!;
  if (path === '') return MONGO_DEFAULTS.database;
  const name = decodeURIComponent(path);
  if (/[/\\. "$\0]/.test(name) || Buffer.byteLength(name) > 63) {
    throw new UsageError('EUSAGE', `MongoStore "${redact(uri)}": "${name}" is not a valid database name`, { database: name });
  }
  return name;
}

/**
 * MONGO_DEFAULTS' timeouts that the URI's query does not set.
 * @example
 * defaultOptions('mongodb://db/x?socketTimeoutMS=1000') // { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000 }
 */
export function defaultOptions(uri: string): MongoClientOptions {
  const query = uri.split('?')[1] ?? '';
  const given = new Set(query.split('&').map((pair) => pair.split('=')[0]!.toLowerCase()));
  const out: MongoClientOptions = {};
  for (const name of ['serverSelectionTimeoutMS', 'connectTimeoutMS', 'socketTimeoutMS'] as const) {
    if (!given.has(name.toLowerCase())) out[name] = MONGO_DEFAULTS[name];
  }
  return out;
}

/**
 * The URI without its password, for messages.
 * @example
 * redact('mongodb://app:secret@db/mcp0') // 'mongodb://app:***@db/mcp0'
 */
export function redact(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/i, (_, scheme: string, credentials: string) => `${scheme}${credentials.split(':')[0]}:***@`);
}
