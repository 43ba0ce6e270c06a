/**
 * The common half of the synchronous stores (LMDB, memory): argument checks and limits, hashing on
 * write, hash verification on read, the CAS rule, and the two provider objects (`kv`, `blocks`)
 * built over the named methods. A subclass supplies only raw byte operations over three spaces:
 * blocks, refs and kv.
 */
import { UsageError } from '@mcp0/abi';
import type { BlockProvider, KvProvider } from '@mcp0/kernel';
import {
  checkBytes,
  checkSize,
  checkVersion,
  checkWrittenBefore,
  concat,
  conflict,
  corrupt,
  decodeRef,
  encodeRef,
  encodeText,
  namespaceHeader,
  sameBytes,
  sha256,
} from './codec.js';
import type { StoreFaults } from './faults.js';
import { type BlockEntry, type DeleteBlocksOptions, type Store, STORE_LIMITS } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The raw operations a synchronous store implements; keys and values are plain bytes, already
 * checked, hashed and namespaced by SyncStore.
 * @example
 * const raw: RawSpaces = { getBlock: (id) => map.get(hex(id)), ... }
 */
export interface RawSpaces {
  getBlock(id: Uint8Array): Uint8Array | undefined;
  hasBlock(id: Uint8Array): boolean;
  /**
   * Writes the blocks whose ids are absent and sets the write time of every one of them (present
   * ones too: a re-put freshens a block, so a sweep in progress keeps it), all in one atomic step.
   */
  putBlocksIfAbsent(blocks: [id: Uint8Array, bytes: Uint8Array][], now: number): void;
  /** Writes without any check (StoreDamage.corruptBlock). */
  overwriteBlock(id: Uint8Array, bytes: Uint8Array): void;
  /** Removes the blocks (and their times) last written before `writtenBefore`, atomically per block. */
  deleteBlocks(ids: Uint8Array[], writtenBefore: number): number;
  /** Block ids strictly after `after` (from the start when undefined), in byte order, with write times (0: unknown). */
  blockRange(after: Uint8Array | undefined, limit: number): [id: Uint8Array, writtenAt: number][];
  /** Ref keys (namespaced, as in getRef) that start with `within`, from `start` on (inclusive), in byte order. */
  refRange(within: Uint8Array, start: Uint8Array, limit: number): Uint8Array[];
  getRef(key: Uint8Array): Uint8Array | undefined;
  /** Atomically reads the ref record and writes what `next` returns; `next` may throw to abort. */
  updateRef(key: Uint8Array, next: (current: Uint8Array | undefined) => Uint8Array): void;
  kvGet(key: Uint8Array): Uint8Array | undefined;
  kvPut(key: Uint8Array, value: Uint8Array): void;
  kvDelete(key: Uint8Array): boolean;
  /** Entries whose key starts with `within`, from `start` on (inclusive), in byte order, at most `limit`. */
  kvRange(within: Uint8Array, start: Uint8Array, limit: number): [Uint8Array, Uint8Array][];
  close(): Promise<void>;
}

/**
 * A Store over synchronous raw spaces. Every answer is synchronous, so inline-tier modules can use it.
 * @example
 * class MyStore extends SyncStore { constructor(faults?: StoreFaults) { super('my:', false, mySpaces, faults) } }
 */
export abstract class SyncStore implements Store {
  readonly uri: string;
  readonly durable: boolean;
  readonly synchronous = true;
  /** The kv provider: plain key spaces. Typed by inference, so its answers stay visibly synchronous. */
  readonly kv = {
    get: (namespace, key) => this.kvGet(namespace, key),
    put: (namespace, key, value) => this.kvPut(namespace, key, value),
    delete: (namespace, key) => this.kvDelete(namespace, key),
    scan: (namespace, prefix, limit, after?) => this.kvScan(namespace, prefix, limit, after),
  } satisfies KvProvider;
  /** The blocks provider: content-addressed blocks and refs, answered synchronously like `kv`. */
  readonly blocks = {
    put: (blocks) => this.putBlocks(blocks),
    get: (id) => this.getBlock(id),
    has: (ids) => this.hasBlocks(ids),
    refGet: (namespace, name) => this.refGet(namespace, name),
    refCas: (namespace, name, expect, root) => this.refCas(namespace, name, expect, root),
  } satisfies BlockProvider;
  #raw: RawSpaces | undefined;

  /** `faults`: for tests and conformance runs only (faults.ts); `opened` is called here. */
  protected constructor(uri: string, durable: boolean, raw: RawSpaces, faults?: StoreFaults) {
    this.uri = uri;
    this.durable = durable;
    this.#raw = raw;
    faults?.opened?.({ corruptBlock: (id, bytes) => this.#spaces.overwriteBlock(id, bytes) });
  }

  get #spaces(): RawSpaces {
    if (!this.#raw) throw new UsageError('ESTATE', `store ${this.uri} is closed`, { uri: this.uri });
    return this.#raw;
  }

  // ---- blocks ------------------------------------------------------------------------------------

  /**
   * Stores blocks (put-if-absent, in one atomic write) and returns their SHA-256 ids in order.
   * @example
   * const [id] = store.putBlocks([new TextEncoder().encode('hello')])
   */
  putBlocks(blocks: Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(blocks)) throw new UsageError('EUSAGE', 'put: expected an array of blocks');
    const entries = blocks.map((block, i): [Uint8Array, Uint8Array] => {
      checkBytes(block, `blocks[${i}]`);
      checkSize(block.length, STORE_LIMITS.blockBytes, `blocks[${i}]`);
      return [sha256(block), block];
    });
    this.#spaces.putBlocksIfAbsent(entries, Date.now());
    return entries.map(([id]) => id);
  }

  /**
   * Whether each id is stored (not verified; `getBlock` verifies).
   * @example
   * store.hasBlocks([id]) // [true]
   */
  hasBlocks(ids: Uint8Array[]): boolean[] {
    if (!Array.isArray(ids)) throw new UsageError('EUSAGE', 'has: expected an array of ids');
    const spaces = this.#spaces;
    return ids.map((id, i) => {
      checkBytes(id, `ids[${i}]`);
      return spaces.hasBlock(id);
    });
  }

  /**
   * The block `id`, verified against its hash; undefined when absent; `EINTERNAL` when corrupt.
   * @example
   * const bytes = store.getBlock(id)
   */
  getBlock(id: Uint8Array): Uint8Array | undefined {
    checkBytes(id, 'id');
    const bytes = this.#spaces.getBlock(id);
    if (bytes === undefined) return undefined;
    const got = sha256(bytes);
    if (!sameBytes(got, id)) throw corrupt(id, got);
    return bytes;
  }

  /**
   * Removes blocks (garbage collection); returns how many were removed. With `writtenBefore`, only
   * blocks last written before it, checked in the same transaction as the removal.
   * @example
   * store.deleteBlocks(unreachable) // 3
   * store.deleteBlocks(unreachable, { writtenBefore: Date.now() - 3_600_000 })
   */
  deleteBlocks(ids: Uint8Array[], options: DeleteBlocksOptions = {}): number {
    if (!Array.isArray(ids)) throw new UsageError('EUSAGE', 'deleteBlocks: expected an array of ids');
    ids.forEach((id, i) => checkBytes(id, `ids[${i}]`));
    return this.#spaces.deleteBlocks(ids, checkWrittenBefore(options));
  }

  /**
   * Stored block ids strictly after `after`, in byte order, at most `limit`, with write times.
   * @example
   * store.listBlocks(undefined, 1000) // [{ id, writtenAt: 1764000000000 }, ...]
   */
  listBlocks(after: Uint8Array | undefined, limit: number): BlockEntry[] {
    if (after !== undefined) checkBytes(after, 'after');
    checkLimit(limit);
    if (limit === 0) return [];
    return this.#spaces.blockRange(after, limit).map(([id, writtenAt]) => ({ id, writtenAt }));
  }

  /**
   * Names of the refs of `namespace` starting with `prefix`, strictly after `after`, in byte order.
   * @example
   * store.listRefs('mcp0.storage', 'head/', 100) // ['head/agent-1', 'head/agent-2']
   */
  listRefs(namespace: string, prefix: string, limit: number, after?: string): string[] {
    checkLimit(limit);
    const header = namespaceHeader(namespace);
    const within = concat(header, encodeText(prefix, STORE_LIMITS.refNameBytes, 'ref prefix'));
    let start = within;
    let skip: Uint8Array | undefined;
    if (after !== undefined) {
      const from = concat(header, encodeText(after, STORE_LIMITS.refNameBytes, 'ref after'));
      if (Buffer.compare(from, within) >= 0) [start, skip] = [from, from];
    }
    if (limit === 0) return [];
    const keys = this.#spaces.refRange(within, start, skip ? limit + 1 : limit);
    return keys
      .filter((k) => !(skip && sameBytes(k, skip)))
      .slice(0, limit)
      .map((k) => utf8.decode(k.subarray(header.length)));
  }

  // ---- refs --------------------------------------------------------------------------------------

  /**
   * The ref's root and version, or undefined when it was never set.
   * @example
   * store.refGet('agent-1', 'head') // { root, version: 3 }
   */
  refGet(namespace: string, name: string): { root: Uint8Array; version: number } | undefined {
    const record = this.#spaces.getRef(refKey(namespace, name));
    return record === undefined ? undefined : decodeRef(record);
  }

  /**
   * Sets the ref to `root` when its version is `expect` (0: absent) and returns the new version
   * (`expect + 1`); otherwise throws `ECONFLICT` with `{expected, actual}`. Atomic.
   * @example
   * const v1 = store.refCas('agent-1', 'head', 0, root)
   */
  refCas(namespace: string, name: string, expect: number, root: Uint8Array): number {
    checkVersion(expect);
    checkBytes(root, 'root');
    checkSize(root.length, STORE_LIMITS.rootBytes, 'ref root');
    const key = refKey(namespace, name);
    this.#spaces.updateRef(key, (current) => {
      const actual = current === undefined ? 0 : decodeRef(current).version;
      if (actual !== expect) throw conflict(namespace, name, expect, actual);
      return encodeRef(expect + 1, root);
    });
    return expect + 1;
  }

  // ---- kv ----------------------------------------------------------------------------------------

  /**
   * The value under `key` in `namespace`, or undefined.
   * @example
   * store.kvGet('agent-1', 'notes/1') // Uint8Array, or undefined
   */
  kvGet(namespace: string, key: string): Uint8Array | undefined {
    return this.#spaces.kvGet(kvKey(namespace, key));
  }

  /**
   * Sets `key` in `namespace` to `value` (≤ 1 MiB).
   * @example
   * store.kvPut('agent-1', 'notes/1', new TextEncoder().encode('buy milk'))
   */
  kvPut(namespace: string, key: string, value: Uint8Array): void {
    checkBytes(value, 'value');
    checkSize(value.length, STORE_LIMITS.kvValueBytes, 'kv value');
    this.#spaces.kvPut(kvKey(namespace, key), value);
  }

  /**
   * Removes `key` from `namespace`; true when it existed.
   * @example
   * store.kvDelete('agent-1', 'notes/1') // true
   */
  kvDelete(namespace: string, key: string): boolean {
    return this.#spaces.kvDelete(kvKey(namespace, key));
  }

  /**
   * Entries of `namespace` whose key starts with `prefix`, strictly after `after`, in byte order of
   * the keys' UTF-8, at most `limit`.
   * @example
   * store.kvScan('agent-1', 'notes/', 100) // [['notes/1', bytes], ['notes/2', bytes]]
   */
  kvScan(namespace: string, prefix: string, limit: number, after?: string): [string, Uint8Array][] {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new UsageError('EUSAGE', `scan: limit must be a non-negative integer, got ${String(limit)}`, { limit });
    const header = namespaceHeader(namespace);
    const within = concat(header, encodeText(prefix, STORE_LIMITS.kvKeyBytes, 'kv prefix'));
    let start = within;
    let skip: Uint8Array | undefined;
    if (after !== undefined) {
      const from = concat(header, encodeText(after, STORE_LIMITS.kvKeyBytes, 'kv after'));
      if (Buffer.compare(from, within) >= 0) [start, skip] = [from, from];
    }
    if (limit === 0) return [];
    const rows = this.#spaces.kvRange(within, start, skip ? limit + 1 : limit);
    const out: [string, Uint8Array][] = [];
    for (const [key, value] of rows) {
      if (skip && sameBytes(key, skip)) continue;
      if (out.length === limit) break;
      out.push([utf8.decode(key.subarray(header.length)), value]);
    }
    return out;
  }

  /**
   * Releases the store; later calls throw `ESTATE`. Closing twice is a no-op.
   * @example
   * await store.close()
   */
  async close(): Promise<void> {
    const raw = this.#raw;
    this.#raw = undefined;
    await raw?.close();
  }
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new UsageError('EUSAGE', `limit must be a non-negative integer, got ${String(limit)}`, { limit });
}

function kvKey(namespace: string, key: string): Uint8Array {
  return concat(namespaceHeader(namespace), encodeText(key, STORE_LIMITS.kvKeyBytes, 'kv key'));
}

function refKey(namespace: string, name: string): Uint8Array {
  return concat(namespaceHeader(namespace), encodeText(name, STORE_LIMITS.refNameBytes, 'ref name'));
}
