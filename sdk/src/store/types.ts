/**
 * The Store: one object that holds the kernel's `kv` and `blocks` providers (as its `kv` and
 * `blocks` properties), plus what the host needs around them (garbage collection, closing, limits).
 * LMDB, memory and MongoDB implement it; `contract.test-support.ts` is the suite every
 * implementation passes.
 */
import { LIMITS } from '@mcp0/abi';
import type { BlockProvider, KvProvider, MaybePromise } from '@mcp0/kernel';

/**
 * A block and kv store, composed of the two kernel providers it serves.
 * Blocks are verified on read: bytes that do not hash to their id throw `EINTERNAL`, never return.
 * @example
 * const store = await openStore('lmdb:./data')
 * const [id] = await store.blocks.put([bytes])
 * await store.kv.put('agent-1', 'memory/notes', value)
 * const kernel = new Kernel({ trust, providers: { kv: store.kv, blocks: store.blocks } })
 */
export interface Store {
  /** The URI the store was opened from; `openStore(store.uri)` reopens it. */
  readonly uri: string;
  /** True when data outlives `close()` (and the process). */
  readonly durable: boolean;
  /**
   * True when every call answers at once, never with a promise (LMDB, memory, MongoSyncStore):
   * plugins in the inline tier can use only such a store. False for MongoStore.
   */
  readonly synchronous: boolean;
  /** The plain key spaces: register as the kernel's `kv` provider. */
  readonly kv: KvProvider;
  /** Content-addressed blocks and refs: register as the kernel's `blocks` provider. */
  readonly blocks: BlockProvider;
  /**
   * Removes blocks (the sweep of gc); returns how many were removed. With `writtenBefore`, a block
   * is removed only when it was last written (put or re-put) before that time, checked atomically
   * with the removal, so a concurrent writer that re-puts the block keeps it. Refs are not checked.
   */
  deleteBlocks(ids: Uint8Array[], options?: DeleteBlocksOptions): MaybePromise<number>;
  /** Stored blocks with ids strictly after `after`, in id order, at most `limit`, with their write times. */
  listBlocks(after: Uint8Array | undefined, limit: number): MaybePromise<BlockEntry[]>;
  /** Names of the refs of `namespace` that start with `prefix`, strictly after `after`, in byte order, at most `limit`. */
  listRefs(namespace: string, prefix: string, limit: number, after?: string): MaybePromise<string[]>;
  /** Flushes and releases the store; later calls throw `ESTATE`. */
  close(): Promise<void>;
}

/**
 * Options of `Store.deleteBlocks`.
 * @example
 * store.deleteBlocks(ids, { writtenBefore: Date.now() - 3_600_000 })
 */
export interface DeleteBlocksOptions {
  /** Only remove blocks last written before this time (ms since the epoch). */
  writtenBefore?: number;
}

/**
 * One row of `Store.listBlocks`: a block id and when it was last written (put or re-put), in ms
 * since the epoch (0 for blocks written before stores recorded it).
 * @example
 * for (const { id, writtenAt } of await store.listBlocks(undefined, 1000)) console.log(hex(id), writtenAt)
 */
export interface BlockEntry {
  id: Uint8Array;
  writtenAt: number;
}

/**
 * The size limits every store enforces with `ETOOBIG` (the ABI's, plus names and namespaces).
 * @example
 * if (value.length > STORE_LIMITS.kvValueBytes) split(value)
 */
export const STORE_LIMITS = {
  blockBytes: LIMITS.blockBytes,
  kvKeyBytes: LIMITS.kvKeyBytes,
  kvValueBytes: LIMITS.kvValueBytes,
  /** A namespace (module name or agent id), in UTF-8 bytes. */
  namespaceBytes: 256,
  /** A ref name, in UTF-8 bytes. */
  refNameBytes: LIMITS.kvKeyBytes,
  /** A ref's root (a block id, or a hash of another kind). */
  rootBytes: 64,
} as const;
