/**
 * A volatile in-memory Store for tests and development. It keeps the same rules as the durable
 * stores: SHA-256 ids verified on read, atomic compare-and-swap refs, byte-ordered kv scans, limits.
 */
import { hex } from './codec.js';
import type { StoreFaults } from './faults.js';
import { type RawSpaces, SyncStore } from './sync-store.js';

/**
 * Options of `new MemoryStore`.
 * @example
 * new MemoryStore({ faults: { opened: (damage) => (rot = damage) } }) // a store a test may corrupt
 */
export interface MemoryStoreOptions {
  /** Fault hooks, for tests and conformance runs only (see StoreFaults). */
  faults?: StoreFaults;
}

/** Lower-case hex sorts like the bytes it encodes, so hex strings serve as ordered map keys. */
type Space = Map<string, [key: Uint8Array, value: Uint8Array]>;

/**
 * The keys of a space in sorted order, kept as they change, so a range read is a binary search and
 * a slice. Sorting every key on each scan made a scan O(n log n): the rpc plugin scans its nonce
 * index on every call, over one record per call of the last replay window (tens of thousands).
 */
class SortedKeys {
  readonly #keys: string[] = [];

  /** The index of the first key >= `key`. */
  #lowerBound(key: string): number {
    let [lo, hi] = [0, this.#keys.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(key: string): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] !== key) this.#keys.splice(at, 0, key);
  }

  delete(key: string): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] === key) this.#keys.splice(at, 1);
  }

  /** Up to `limit` keys that start with `within` and are >= `start`, in order. */
  range(within: string, start: string, limit: number): string[] {
    const out: string[] = [];
    for (let i = this.#lowerBound(start < within ? within : start); i < this.#keys.length && out.length < limit; i++) {
      const key = this.#keys[i]!;
      // Keys with a prefix are contiguous in sorted order: the first one without it ends the range.
      if (!key.startsWith(within)) break;
      out.push(key);
    }
    return out;
  }

  clear(): void {
    this.#keys.length = 0;
  }
}

/**
 * An in-memory Store; everything is lost on `close()`.
 * @example
 * const store = new MemoryStore()
 * const [id] = store.blocks.put([bytes])
 * store.blocks.get(id) // bytes
 */
export class MemoryStore extends SyncStore {
  constructor(options: MemoryStoreOptions = {}) {
    super('memory:', false, memorySpaces(), options.faults);
  }
}

function memorySpaces(): RawSpaces {
  const blocks: Space = new Map();
  const times = new Map<string, number>();
  const refs: Space = new Map();
  const kv: Space = new Map();
  const kvKeys = new SortedKeys();
  const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);
  const read = (space: Space, key: Uint8Array): Uint8Array | undefined => {
    const row = space.get(hex(key));
    return row && copy(row[1]);
  };
  const write = (space: Space, key: Uint8Array, value: Uint8Array): void => {
    space.set(hex(key), [copy(key), copy(value)]);
  };
  return {
    getBlock: (id) => read(blocks, id),
    hasBlock: (id) => blocks.has(hex(id)),
    putBlocksIfAbsent(entries, now) {
      for (const [id, bytes] of entries) {
        if (!blocks.has(hex(id))) write(blocks, id, bytes);
        times.set(hex(id), now);
      }
    },
    overwriteBlock: (id, bytes) => write(blocks, id, bytes),
    deleteBlocks: (ids, writtenBefore) =>
      ids.filter((id) => {
        const h = hex(id);
        if ((times.get(h) ?? 0) >= writtenBefore) return false;
        times.delete(h);
        return blocks.delete(h);
      }).length,
    blockRange(after, limit) {
      const from = after === undefined ? undefined : hex(after);
      return [...blocks.keys()]
        .filter((k) => from === undefined || k > from)
        .sort()
        .slice(0, limit)
        .map((k) => [copy(blocks.get(k)![0]), times.get(k) ?? 0]);
    },
    refRange(within, start, limit) {
      const [w, s] = [hex(within), hex(start)];
      return [...refs.keys()]
        .filter((k) => k.startsWith(w) && k >= s)
        .sort()
        .slice(0, limit)
        .map((k) => copy(refs.get(k)![0]));
    },
    getRef: (key) => read(refs, key),
    updateRef: (key, next) => write(refs, key, next(read(refs, key))),
    kvGet: (key) => read(kv, key),
    kvPut(key, value) {
      const h = hex(key);
      if (!kv.has(h)) kvKeys.add(h);
      kv.set(h, [copy(key), copy(value)]);
    },
    kvDelete(key) {
      const h = hex(key);
      if (!kv.delete(h)) return false;
      kvKeys.delete(h);
      return true;
    },
    kvRange(within, start, limit) {
      return kvKeys.range(hex(within), hex(start), limit).map((k) => {
        const [key, value] = kv.get(k)!;
        return [key, copy(value)];
      });
    },
    close: async () => {
      for (const space of [blocks, refs, kv]) space.clear();
      kvKeys.clear();
      times.clear();
    },
  };
}
