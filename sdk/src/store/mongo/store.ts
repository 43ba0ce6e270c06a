/**
 * MongoStore: a Store on MongoDB, or on any server that speaks its wire protocol (tests use
 * FerretDB 1.24 with SQLite). Every answer is a promise. Only single-document atomic writes are
 * used, never transactions; documents.ts says how the store is laid out, refs.ts how refs move.
 *
 * Block puts are put-if-absent (blocks.ts); reads verify the hash, as in SyncStore. `has` and the
 * sweep use one `$in` per batch (one scan on FerretDB) rather than one query per id, and blocks
 * read or written are kept in a bounded LRU cache (cache.ts); a sweep evicts what it deletes.
 *
 * Connection failures and timeouts become `EUNAVAILABLE`, with the driver's error as `cause`. Reads,
 * block puts, kv puts and ref inserts are retried on transient errors (see `#run` and retry.ts).
 */
import { randomBytes } from 'node:crypto';
import { CallError, Mcp0Error, UsageError } from '@mcp0/abi';
import type { BlockProvider, KvProvider } from '@mcp0/kernel';
import { Binary, MongoClient } from 'mongodb';
import {
  checkBytes,
  checkSize,
  checkVersion,
  checkWrittenBefore,
  concat,
  conflict,
  corrupt,
  encodeText,
  hex,
  namespaceHeader,
  sameBytes,
  sha256,
} from '../codec.js';
import type { StoreFaults } from '../faults.js';
import { type BlockEntry, type DeleteBlocksOptions, type Store, STORE_LIMITS } from '../types.js';
import { insertOrFreshen } from './blocks.js';
import { BlockCache } from './cache.js';
import { type BlockDoc, bytesOf, type Collections, kvId, type RefDoc, refHex, type Run, versionId } from './documents.js';
import { MONGO_DEFAULTS, type MongoStoreOptions, databaseName, defaultOptions, redact } from './options.js';
import { insertVersion, latestVersion, raiseHint } from './refs.js';
import { type Retry, backoff, isDuplicate, isTransient, translate, unwrap } from './retry.js';

/** Ids per `deleteMany` of a sweep. */
const DELETE_BATCH = 1000;
const TOKEN_BYTES = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A Store on a MongoDB database: durable, shared by every process that opens the same database,
 * with refs that move only by compare-and-swap.
 * @example
 * const store = await MongoStore.connect('mongodb://127.0.0.1:27017/mcp0')
 * const [id] = await store.blocks.put([bytes])
 * await store.blocks.refCas('agent-1', 'head', 0, id)
 */
export class MongoStore implements Store {
  readonly uri: string;
  readonly durable = true;
  readonly synchronous = false;
  /** The database's name (from the URI's path, else `mcp0`). */
  readonly database: string;
  /** The kv provider; every method answers with a promise. */
  readonly kv = {
    get: (namespace, key) => this.kvGet(namespace, key),
    put: (namespace, key, value) => this.kvPut(namespace, key, value),
    delete: (namespace, key) => this.kvDelete(namespace, key),
    scan: (namespace, prefix, limit, after?) => this.kvScan(namespace, prefix, limit, after),
  } satisfies KvProvider;
  /** The blocks provider; every method answers with a promise. */
  readonly blocks = {
    put: (blocks) => this.putBlocks(blocks),
    get: (id) => this.getBlock(id),
    has: (ids) => this.hasBlocks(ids),
    refGet: (namespace, name) => this.refGet(namespace, name),
    refCas: (namespace, name, expect, root) => this.refCas(namespace, name, expect, root),
  } satisfies BlockProvider;
  #client: MongoClient | undefined;
  #collections: Collections | undefined;
  readonly #cache: BlockCache;
  readonly #retries: number;
  /** For tests and conformance runs only (faults.ts). */
  readonly #faults: StoreFaults | undefined;
  /** `#run` for the helpers in other files (refs.ts). */
  readonly #runner: Run = (op, retry, fn) => this.#run(op, retry, fn);

  private constructor(uri: string, client: MongoClient, database: string, retries: number, cacheBytes: number, faults: StoreFaults | undefined) {
    this.#cache = new BlockCache(cacheBytes);
    this.uri = uri;
    this.database = database;
    this.#client = client;
    const db = client.db(database);
    this.#collections = { blocks: db.collection('blocks'), refs: db.collection('refs'), kv: db.collection('kv'), hints: db.collection('refhints') };
    this.#retries = retries;
    this.#faults = faults;
    faults?.opened?.({ corruptBlock: (id, bytes) => this.#corruptBlock(id, bytes) });
  }

  /**
   * Connects to the server named by a `mongodb://` or `mongodb+srv://` URI and checks that it
   * answers. The database is the URI's path (default `mcp0`). Unreachable: `EUNAVAILABLE` after
   * `serverSelectionTimeoutMS` (5 s unless the URI or `options.client` says otherwise).
   * @example
   * const store = await MongoStore.connect('mongodb://127.0.0.1:27017/mcp0?directConnection=true')
   */
  static async connect(uri: string, options: MongoStoreOptions = {}): Promise<MongoStore> {
    if (typeof uri !== 'string' || !/^mongodb(\+srv)?:\/\//i.test(uri)) {
      throw new UsageError(
        'EUSAGE',
        `MongoStore: expected a mongodb:// or mongodb+srv:// URI, got ${typeof uri === 'string' ? `"${redact(uri)}"` : typeof uri}`,
      );
    }
    const retries = options.retries ?? MONGO_DEFAULTS.retries;
    const cacheBytes = options.cacheBytes ?? MONGO_DEFAULTS.cacheBytes;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0)
      throw new UsageError('EUSAGE', `MongoStore: cacheBytes must be a non-negative integer, got ${String(cacheBytes)}`, { cacheBytes });
    if (!Number.isSafeInteger(retries) || retries < 0)
      throw new UsageError('EUSAGE', `MongoStore: retries must be a non-negative integer, got ${String(retries)}`, { retries });
    const database = databaseName(uri);
    let client: MongoClient;
    try {
      client = new MongoClient(uri, { ...defaultOptions(uri), ...options.client });
    } catch (e) {
      throw new UsageError('EUSAGE', `MongoStore "${redact(uri)}": ${(e as Error).message}`, { uri: redact(uri) }, { cause: e });
    }
    try {
      await client.connect();
      await client.db(database).command({ ping: 1 });
    } catch (e) {
      await client.close().catch(() => {});
      throw translate('connect', uri, unwrap(e), 1, 'read');
    }
    return new MongoStore(uri, client, database, retries, cacheBytes, options.faults);
  }

  /** Throws `ESTATE` once the store is closed (checked before the arguments, as in SyncStore). */
  #assertOpen(): Collections {
    if (!this.#collections) throw this.#closedError();
    return this.#collections;
  }

  #closedError(): UsageError {
    return new UsageError('ESTATE', `store ${redact(this.uri)} is closed`, { uri: redact(this.uri) });
  }

  /**
   * Runs one driver operation, turning driver errors into typed ones. Transient errors (network,
   * socket timeout, primary step-down) are retried up to `retries` times when `retry` allows it:
   * reads, and writes whose repetition cannot change the outcome (put-if-absent, upserting the same
   * value, an insert that recognises its own earlier success). Server-selection timeouts are not
   * retried: selection already kept trying for `serverSelectionTimeoutMS`.
   */
  async #run<T>(op: string, retry: Retry, fn: (c: Collections, attempt: number) => Promise<T>): Promise<T> {
    const collections = this.#assertOpen();
    for (let attempt = 0; ; attempt++) {
      try {
        this.#faults?.beforeRequest?.(op);
        const result = await fn(collections, attempt);
        if (retry !== 'read') this.#faults?.afterWrite?.(op);
        return result;
      } catch (e) {
        if (e instanceof Mcp0Error) throw e;
        if (!this.#collections) throw this.#closedError();
        const cause = unwrap(e);
        if (retry !== 'once' && attempt < this.#retries && isTransient(cause)) {
          await backoff(attempt);
          continue;
        }
        throw translate(op, this.uri, cause, attempt + 1, retry);
      }
    }
  }

  // ---- blocks ------------------------------------------------------------------------------------

  /**
   * Stores blocks (put-if-absent) and returns their SHA-256 ids in order. All sizes are checked
   * before anything is written; a retry after a lost reply only finds the blocks already there.
   * @example
   * const [id] = await store.putBlocks([new TextEncoder().encode('hello')])
   */
  async putBlocks(blocks: Uint8Array[]): Promise<Uint8Array[]> {
    this.#assertOpen();
    if (!Array.isArray(blocks)) throw new UsageError('EUSAGE', 'put: expected an array of blocks');
    const ids: Uint8Array[] = [];
    const docs: BlockDoc[] = [];
    const seen = new Set<string>();
    blocks.forEach((block, i) => {
      checkBytes(block, `blocks[${i}]`);
      checkSize(block.length, STORE_LIMITS.blockBytes, `blocks[${i}]`);
    });
    const t = Date.now();
    for (const block of blocks) {
      const bytes = new Uint8Array(block); // a copy: the caller may reuse its array while we wait
      const id = sha256(bytes);
      ids.push(id);
      const key = hex(id);
      if (seen.has(key)) continue;
      seen.add(key);
      docs.push({ _id: key, data: new Binary(bytes), t });
    }
    if (docs.length > 0) await this.#run('blocks.put', 'idempotent', (c) => insertOrFreshen(c.blocks, docs));
    for (const d of docs) this.#cache.set(d._id, bytesOf(d.data));
    return ids;
  }

  /**
   * Whether each id is stored (not verified; `getBlock` verifies).
   * @example
   * await store.hasBlocks([id]) // [true]
   */
  async hasBlocks(ids: Uint8Array[]): Promise<boolean[]> {
    this.#assertOpen();
    if (!Array.isArray(ids)) throw new UsageError('EUSAGE', 'has: expected an array of ids');
    ids.forEach((id, i) => checkBytes(id, `ids[${i}]`));
    if (ids.length === 0) return [];
    // Not from the cache: another process's sweep may have removed a cached block.
    const keys = [...new Set(ids.map(hex))];
    const found = new Set<string>();
    if (keys.length > 0) {
      await this.#run('blocks.has', 'read', async (c) => {
        found.clear();
        const cursor = c.blocks.find({ _id: { $in: keys } }, { projection: { _id: 1 } });
        for await (const doc of cursor) found.add(doc._id);
      });
    }
    return ids.map((id) => found.has(hex(id)));
  }

  /**
   * The block `id`, verified against its hash; undefined when absent; `EINTERNAL` when corrupt.
   * @example
   * const bytes = await store.getBlock(id)
   */
  async getBlock(id: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    checkBytes(id, 'id');
    const cached = this.#cache.get(hex(id));
    if (cached) return new Uint8Array(cached);
    const doc = await this.#run('blocks.get', 'read', (c) => c.blocks.findOne({ _id: hex(id) }, { projection: { data: 1 } }));
    if (doc === null) return undefined;
    if (!(doc.data instanceof Binary)) throw new CallError('EINTERNAL', `corrupt block ${hex(id)}: no data`, { id: hex(id) });
    const bytes = bytesOf(doc.data);
    const got = sha256(bytes);
    if (!sameBytes(got, id)) throw corrupt(id, got);
    this.#cache.set(hex(id), bytes);
    return new Uint8Array(bytes);
  }

  /**
   * Removes blocks (garbage collection); returns how many were removed. With `writtenBefore`, only
   * blocks last written before it (the condition is part of each delete's filter). Not retried: a
   * repeat after a lost reply would count fewer.
   * @example
   * await store.deleteBlocks(unreachable, { writtenBefore: Date.now() - 3_600_000 }) // 3
   */
  async deleteBlocks(ids: Uint8Array[], options: DeleteBlocksOptions = {}): Promise<number> {
    this.#assertOpen();
    if (!Array.isArray(ids)) throw new UsageError('EUSAGE', 'deleteBlocks: expected an array of ids');
    ids.forEach((id, i) => checkBytes(id, `ids[${i}]`));
    const before = checkWrittenBefore(options);
    const keys = [...new Set(ids.map(hex))];
    if (keys.length === 0) return 0;
    for (const k of keys) this.#cache.delete(k);
    let n = 0;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const $in = keys.slice(i, i + DELETE_BATCH);
      const filter = before === Infinity ? { _id: { $in } } : { _id: { $in }, t: { $lt: before } };
      n += (await this.#run('deleteBlocks', 'once', (c) => c.blocks.deleteMany(filter))).deletedCount;
    }
    return n;
  }

  /**
   * Stored block ids strictly after `after`, in id order, at most `limit`, with write times.
   * @example
   * await store.listBlocks(undefined, 1000) // [{ id, writtenAt }, ...]
   */
  async listBlocks(after: Uint8Array | undefined, limit: number): Promise<BlockEntry[]> {
    this.#assertOpen();
    if (after !== undefined) checkBytes(after, 'after');
    if (!Number.isSafeInteger(limit) || limit < 0) throw new UsageError('EUSAGE', `limit must be a non-negative integer, got ${String(limit)}`, { limit });
    if (limit === 0) return [];
    const filter = after === undefined ? {} : { _id: { $gt: hex(after) } };
    const docs = await this.#run('blocks.list', 'read', (c) => c.blocks.find(filter, { projection: { t: 1 }, sort: { _id: 1 }, limit }).toArray());
    return docs.map((d) => ({ id: new Uint8Array(Buffer.from(d._id, 'hex')), writtenAt: typeof d.t === 'number' ? d.t : 0 }));
  }

  /**
   * Names of the refs of `namespace` starting with `prefix`, strictly after `after`, in byte order,
   * at most `limit`. One query per ref: each answer skips past the versions of the ref it found.
   * @example
   * await store.listRefs('mcp0.storage', 'head/', 100) // ['head/agent-1']
   */
  async listRefs(namespace: string, prefix: string, limit: number, after?: string): Promise<string[]> {
    this.#assertOpen();
    if (!Number.isSafeInteger(limit) || limit < 0) throw new UsageError('EUSAGE', `limit must be a non-negative integer, got ${String(limit)}`, { limit });
    const low = refHex(namespace, prefix);
    // '/' sorts after '.', so `<hex>/` is past every version `<hex>.<n>` of that ref.
    let from = after === undefined ? low : `${refHex(namespace, after)}/`;
    if (from < low) from = low;
    const names: string[] = [];
    while (names.length < limit) {
      const doc = await this.#run('blocks.listRefs', 'read', (c) =>
        c.refs.find({ _id: { $gte: from, $lt: `${low}g` } }, { projection: { name: 1 }, sort: { _id: 1 }, limit: 1 }).next(),
      );
      if (doc === null) break;
      names.push(doc.name);
      from = `${doc._id.slice(0, doc._id.lastIndexOf('.'))}/`;
    }
    return names;
  }

  /** StoreDamage.corruptBlock: writes `bytes` under `id` without hashing, so reads must catch the mismatch. */
  async #corruptBlock(id: Uint8Array, bytes: Uint8Array): Promise<void> {
    this.#cache.delete(hex(id));
    await this.#run('corrupt', 'once', (c) =>
      c.blocks.replaceOne({ _id: hex(id) }, { data: new Binary(new Uint8Array(bytes)), t: Date.now() }, { upsert: true }),
    );
  }

  // ---- refs --------------------------------------------------------------------------------------

  /**
   * The ref's root and version (its highest version), or undefined when it was never set.
   * @example
   * await store.refGet('agent-1', 'head') // { root, version: 3 }
   */
  async refGet(namespace: string, name: string): Promise<{ root: Uint8Array; version: number } | undefined> {
    this.#assertOpen();
    const doc = await latestVersion(this.#runner, refHex(namespace, name));
    return doc === null ? undefined : { root: bytesOf(doc.root), version: doc.v };
  }

  /**
   * Sets the ref to `root` when its version is `expect` (0: absent) and returns `expect + 1`;
   * otherwise throws `ECONFLICT` with `{expected, actual}`. Atomic across processes: it inserts
   * version `expect + 1`, and the unique `_id` lets exactly one writer do that.
   * @example
   * const v1 = await store.refCas('agent-1', 'head', 0, root)
   */
  async refCas(namespace: string, name: string, expect: number, root: Uint8Array): Promise<number> {
    this.#assertOpen();
    checkVersion(expect);
    checkBytes(root, 'root');
    checkSize(root.length, STORE_LIMITS.rootBytes, 'ref root');
    const key = refHex(namespace, name);
    const doc: RefDoc = {
      _id: versionId(key, expect + 1),
      ns: namespace,
      name,
      v: expect + 1,
      root: new Binary(new Uint8Array(root)),
      w: new Binary(new Uint8Array(randomBytes(TOKEN_BYTES))),
      at: new Date(),
    };
    // Versions are dense: `expect + 1` may only be written on top of an existing `expect`.
    if (expect > 0) {
      const base = await this.#run('blocks.refCas', 'read', (c) => c.refs.findOne({ _id: versionId(key, expect) }, { projection: { _id: 1 } }));
      if (base === null) {
        // Absent a moment ago; if it is the latest now, it was written in between: the CAS stands.
        const actual = (await latestVersion(this.#runner, key))?.v ?? 0;
        if (actual !== expect) throw conflict(namespace, name, expect, actual);
      }
    }
    if (await insertVersion(this.#runner, doc)) {
      await raiseHint(this.#runner, key, expect + 1);
      return expect + 1;
    }
    const actual = (await latestVersion(this.#runner, key))?.v ?? 0;
    throw conflict(namespace, name, expect, actual);
  }

  // ---- kv ----------------------------------------------------------------------------------------

  /**
   * The value under `key` in `namespace`, or undefined.
   * @example
   * await store.kvGet('agent-1', 'notes/1') // Uint8Array, or undefined
   */
  async kvGet(namespace: string, key: string): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    const id = kvId(namespace, key);
    const doc = await this.#run('kv.get', 'read', (c) => c.kv.findOne({ _id: id }, { projection: { v: 1 } }));
    return doc === null ? undefined : bytesOf(doc.v);
  }

  /**
   * Sets `key` in `namespace` to `value` (≤ 1 MiB). Repeating it is harmless, so it is retried.
   * @example
   * await store.kvPut('agent-1', 'notes/1', new TextEncoder().encode('buy milk'))
   */
  async kvPut(namespace: string, key: string, value: Uint8Array): Promise<void> {
    this.#assertOpen();
    checkBytes(value, 'value');
    checkSize(value.length, STORE_LIMITS.kvValueBytes, 'kv value');
    const id = kvId(namespace, key);
    const doc = { ns: namespace, k: key, v: new Binary(new Uint8Array(value)) };
    await this.#run('kv.put', 'idempotent', async (c) => {
      // Two upserts of a new key may both try to insert; the loser gets 11000 and replaces instead.
      for (let i = 0; ; i++) {
        try {
          await c.kv.replaceOne({ _id: id }, doc, { upsert: true });
          return;
        } catch (e) {
          if (!isDuplicate(e) || i === 2) throw e;
        }
      }
    });
  }

  /**
   * Removes `key` from `namespace`; true when it existed. Not retried (a repeat would say false).
   * @example
   * await store.kvDelete('agent-1', 'notes/1') // true
   */
  async kvDelete(namespace: string, key: string): Promise<boolean> {
    this.#assertOpen();
    const id = kvId(namespace, key);
    const result = await this.#run('kv.delete', 'once', (c) => c.kv.deleteOne({ _id: id }));
    return result.deletedCount === 1;
  }

  /**
   * Entries of `namespace` whose key starts with `prefix`, strictly after `after`, in byte order of
   * the keys' UTF-8, at most `limit`: one range over `_id`.
   * @example
   * await store.kvScan('agent-1', 'notes/', 100) // [['notes/1', bytes], ['notes/2', bytes]]
   */
  async kvScan(namespace: string, prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]> {
    this.#assertOpen();
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new UsageError('EUSAGE', `scan: limit must be a non-negative integer, got ${String(limit)}`, { limit });
    const header = namespaceHeader(namespace);
    const within = concat(header, encodeText(prefix, STORE_LIMITS.kvKeyBytes, 'kv prefix'));
    const low = hex(within);
    // Hex digits are all below 'g', so every key with the prefix sorts below `low + 'g'`.
    const range: { $gte?: string; $gt?: string; $lt: string } = { $gte: low, $lt: `${low}g` };
    if (after !== undefined) {
      const from = concat(header, encodeText(after, STORE_LIMITS.kvKeyBytes, 'kv after'));
      if (Buffer.compare(from, within) >= 0) {
        delete range.$gte;
        range.$gt = hex(from);
      }
    }
    if (limit === 0) return [];
    const docs = await this.#run('kv.scan', 'read', (c) =>
      c.kv.find({ _id: range }, { projection: { v: 1 }, sort: { _id: 1 }, limit: Math.min(limit, 2 ** 31 - 1) }).toArray(),
    );
    return docs.map((doc): [string, Uint8Array] => [utf8.decode(Buffer.from(doc._id, 'hex').subarray(header.length)), bytesOf(doc.v)]);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /**
   * Whether the database holds a store: any of its collections (`blocks`, `refs`, `kv`). A fresh
   * database has none until the first write creates one.
   * @example
   * if (!(await store.exists())) throw new Error(`no store at ${store.uri}`)
   */
  async exists(): Promise<boolean> {
    this.#assertOpen();
    const db = this.#client!.db(this.database);
    const names = await this.#run('exists', 'read', async () => (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
    return names.some((n) => n === 'blocks' || n === 'refs' || n === 'kv');
  }

  /**
   * Closes the connections; later calls throw `ESTATE`. Closing twice is a no-op.
   * @example
   * await store.close()
   */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#collections = undefined;
    await client?.close();
  }
}
