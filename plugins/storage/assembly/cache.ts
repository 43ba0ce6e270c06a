/**
 * Bounded caches of parsed tree nodes and of small out-of-line values across calls, by block id. Blocks are immutable by id (the
 * id is the SHA-256 of the bytes, checked by the store on every read), so an entry never goes
 * stale; it only goes away to stay within the budget. It holds only nodes that were read from the
 * store or written by a committed operation (never the blocks of a write that lost its CAS).
 *
 * Two generations (a cheap approximation of LRU): new entries go to `young`; when `young` reaches
 * half the budget it becomes `old` and the previous `old` is dropped; a hit in `old` moves the
 * entry back to `young`. Keys are the first 8 bytes of the id, with the whole id compared on a hit.
 *
 * What the cache changes, by design: a warm plugin answers reads of a block it has already
 * verified without reading it again, so a block corrupted or deleted in the store afterwards goes
 * unnoticed until the entry leaves the cache (a fresh instance sees it at once). Exports that must
 * see the store as it is (restore's root check and re-put walk, gc's mark) read it directly.
 */
import { Node, bytesEqual } from "./node";

/**
 * Estimated bytes of memory the node cache may hold. The plugin's memory cap is 64 MiB, and the
 * runtime's collector lets the heap reach about twice what is live before it finishes a cycle, so
 * the caches together stay at a quarter of the cap, leaving the rest to the call in progress.
 */
export const CACHE_BUDGET: i32 = 8 << 20;
/** Bytes of out-of-line values the value cache may hold, and the largest value it keeps. */
export const VALUE_BUDGET: i32 = 8 << 20;
export const VALUE_MAX: i32 = 4096;

// @ts-ignore: decorator
@inline export function key64(id: Uint8Array): u64 {
  return load<u64>(id.dataStart);
}

let young = new Map<u64, Node>();
let old = new Map<u64, Node>();
let youngCost: i32 = 0;

/** The cached node with this id, or null. */
export function cachedNode(id: Uint8Array): Node | null {
  const k = key64(id);
  if (young.has(k)) {
    const n = young.get(k);
    return bytesEqual(n.id, id) ? n : null;
  }
  if (old.has(k)) {
    const n = old.get(k);
    if (!bytesEqual(n.id, id)) return null;
    old.delete(k);
    insert(k, n);
    return n;
  }
  return null;
}

/** Drops a node (one a commit replaced: later reads of the new tree will not want it). */
export function uncacheNode(id: Uint8Array): void {
  const k = key64(id);
  if (young.has(k)) {
    const n = young.get(k);
    if (bytesEqual(n.id, id)) { young.delete(k); youngCost -= n.cost; }
  }
  if (old.has(k) && bytesEqual(old.get(k).id, id)) old.delete(k);
}

/** Keeps a node (its `id` and `cost` set). */
export function cacheNode(n: Node): void {
  const k = key64(n.id);
  if (young.has(k)) return;
  insert(k, n);
}

function insert(k: u64, n: Node): void {
  young.set(k, n);
  youngCost += n.cost;
  if (youngCost >= CACHE_BUDGET / 2) {
    old = young;
    young = new Map<u64, Node>();
    youngCost = 0;
  }
}

/** A cached value: its id and bytes. */
class Value {
  constructor(public id: Uint8Array, public bytes: Uint8Array) {}
}

let youngValues = new Map<u64, Value>();
let oldValues = new Map<u64, Value>();
let youngValueBytes: i32 = 0;

/** The cached bytes of the value block `id`, or null. */
export function cachedValue(id: Uint8Array): Uint8Array | null {
  const k = key64(id);
  if (youngValues.has(k)) {
    const v = youngValues.get(k);
    return bytesEqual(v.id, id) ? v.bytes : null;
  }
  if (oldValues.has(k)) {
    const v = oldValues.get(k);
    if (!bytesEqual(v.id, id)) return null;
    oldValues.delete(k);
    insertValue(k, v);
    return v.bytes;
  }
  return null;
}

/** Keeps a value block (at most VALUE_MAX bytes; larger ones are not cached). */
export function cacheValue(id: Uint8Array, bytes: Uint8Array): void {
  if (bytes.length > VALUE_MAX) return;
  const k = key64(id);
  if (youngValues.has(k)) return;
  insertValue(k, new Value(id, bytes));
}

function insertValue(k: u64, v: Value): void {
  youngValues.set(k, v);
  youngValueBytes += v.bytes.length + 96;
  if (youngValueBytes >= VALUE_BUDGET / 2) {
    oldValues = youngValues;
    youngValues = new Map<u64, Value>();
    youngValueBytes = 0;
  }
}

/** Drops everything (before an operation that needs the memory). */
export function clearCache(): void {
  young = new Map<u64, Node>();
  old = new Map<u64, Node>();
  youngCost = 0;
  youngValues = new Map<u64, Value>();
  oldValues = new Map<u64, Value>();
  youngValueBytes = 0;
}
