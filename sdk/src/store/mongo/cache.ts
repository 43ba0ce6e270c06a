/**
 * MongoStore's block cache: blocks are immutable and named by their hash, so a cached block is
 * never stale, and reads and writes keep the most recent ones in this process up to a byte budget.
 * (On FerretDB with SQLite even a lookup by `_id` scans, about 1.5 µs per stored block.)
 */

/**
 * Immutable blocks by hex id, least recently used first out once over `limit` bytes. A block
 * larger than the limit is not kept (so a limit of 0 keeps nothing).
 * @example
 * const cache = new BlockCache(32 << 20)
 * cache.set(hex(id), bytes)
 * cache.get(hex(id)) // bytes, now the most recently used
 */
export class BlockCache {
  readonly #map = new Map<string, Uint8Array>();
  #bytes = 0;
  constructor(readonly limit: number) {}

  /**
   * The block, marked most recently used; undefined when not cached.
   * @example
   * const hit = cache.get(key)
   */
  get(key: string): Uint8Array | undefined {
    const v = this.#map.get(key);
    if (v) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /**
   * Keeps the block, evicting the least recently used ones while over the limit.
   * @example
   * cache.set(key, bytes)
   */
  set(key: string, bytes: Uint8Array): void {
    if (bytes.length > this.limit) return;
    this.delete(key);
    this.#map.set(key, bytes);
    this.#bytes += bytes.length;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.limit) break;
      this.#map.delete(k);
      this.#bytes -= v.length;
    }
  }

  /**
   * Forgets the block (a sweep deleted it, or a test rewrote it).
   * @example
   * cache.delete(key)
   */
  delete(key: string): void {
    const v = this.#map.get(key);
    if (v) {
      this.#map.delete(key);
      this.#bytes -= v.length;
    }
  }
}
