/**
 * Tree nodes in memory, and their two block formats (README.md "Block and node format"):
 *
 * - version 2 (written): `[2, level, [item, ...]]`, keys front-coded within the node: each item
 *   starts with `shared` (the length of the prefix its key shares with the previous key of the
 *   node, 0 for the first) and the rest of the key (`suffix`). Leaf items are
 *   `[shared, suffix, value]` (inline, at most INLINE_MAX bytes) or `[shared, suffix, valueId,
 *   size]` (out of line); internal items are `[shared, suffix, childId]`, the key being the last
 *   key of the child.
 * - version 1 (read only): `[level, [item, ...]]` with whole keys: `[key, value]`,
 *   `[key, valueId, size]`, `[lastKey, childId]`.
 *
 * The empty tree is `[0, []]` (version 1 bytes `82 00 80`) in both versions, so its id never
 * changes. Version 2 is encoded and parsed by hand (no CBOR value tree): strict, shortest-form
 * heads only, so a node has exactly one encoding.
 *
 * AssemblyScript has no exceptions: fallible functions return null and leave the error in `lastError`.
 */
import { Err, decode } from "@mcp0/abi/as";
import { headLen, putBytes, putHead } from "./hostio";

/** Values up to this many bytes are stored inline in the leaf. */
export const INLINE_MAX: i32 = 64;
/** Keys are at most this many bytes (the plugin refuses longer ones). */
export const KEY_MAX: i32 = 1024;
/** The deepest level a node may claim. */
export const LEVEL_MAX: i32 = 64;

/** The last error of a function that returned null. */
export let lastError: Err = new Err("EINTERNAL", "");

export function setError(code: string, message: string): void {
  lastError = new Err(code, message);
}

export function setErr(e: Err): void {
  lastError = e;
}

/**
 * One item of a node. Leaf: `val` is the value (inline) or its block id (`ool`, with `size`).
 * Internal: `key` is the child's last key and `val` the child's id. `rank` caches the key's
 * boundary rank under the salt interned as `rankSalt` (see tree.ts).
 */
export class Item {
  rank: i32 = 0;
  rankSalt: i32 = -1;
  constructor(public key: Uint8Array, public val: Uint8Array, public ool: bool = false, public size: u32 = 0) {}
}

const NO_BYTES = new Uint8Array(0);

export class Node {
  id: Uint8Array = NO_BYTES;
  /** The block's bytes, kept for nodes read for a re-put (restore's freshen walk); else empty. */
  raw: Uint8Array = NO_BYTES;
  /** Estimated memory this node holds (the cache's budget counts it). */
  cost: i32 = 0;
  constructor(public level: i32, public items: Array<Item>) {}
  get lastKey(): Uint8Array { return unchecked(this.items[this.items.length - 1]).key; }
}

/** The empty tree's bytes, `[0, []]`. */
export const EMPTY_BYTES: Uint8Array = bytesOf([0x82, 0x00, 0x80]);

function bytesOf(xs: Array<i32>): Uint8Array {
  const b = new Uint8Array(xs.length);
  for (let i = 0; i < xs.length; i++) b[i] = <u8>xs[i];
  return b;
}

export function hex(b: Uint8Array): string {
  const digits = "0123456789abcdef";
  const parts = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) {
    const x = <i32>unchecked(b[i]);
    unchecked(parts[i] = digits.charAt(x >> 4) + digits.charAt(x & 15));
  }
  return parts.join("");
}

// The helpers below read `byteLength` (a field) rather than `length` (a getter): in this runtime a
// getter is a call with a shadow-stack frame, too large to be inlined, and these run per item.

// @ts-ignore: decorator
@inline export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  const n = a.byteLength;
  return n == b.byteLength && memory.compare(a.dataStart, b.dataStart, <usize>n) == 0;
}

/**
 * Bytewise order of a and b (unsigned, a proper prefix first): negative when a < b. Eight bytes at
 * a time (keys often share long prefixes), the first differing word compared big-endian.
 */
// @ts-ignore: decorator
@inline export function cmpBytes(a: Uint8Array, b: Uint8Array): i32 {
  return cmpRaw(a.dataStart, a.byteLength, b.dataStart, b.byteLength);
}

export function cmpRaw(pa: usize, la: i32, pb: usize, lb: i32): i32 {
  const n = min(la, lb);
  let i = 0;
  while (i + 8 <= n) {
    const x = load<u64>(pa + <usize>i);
    const y = load<u64>(pb + <usize>i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
    i += 8;
  }
  while (i < n) {
    const x = <i32>load<u8>(pa + <usize>i);
    const y = <i32>load<u8>(pb + <usize>i);
    if (x != y) return x - y;
    i++;
  }
  return la - lb;
}

/** The length of the common prefix of a and b. */
export function sharedPrefix(a: Uint8Array, b: Uint8Array): i32 {
  const n = min(a.byteLength, b.byteLength);
  const pa = a.dataStart, pb = b.dataStart;
  let i = 0;
  while (i + 8 <= n && load<u64>(pa + <usize>i) == load<u64>(pb + <usize>i)) i += 8;
  while (i < n && load<u8>(pa + <usize>i) == load<u8>(pb + <usize>i)) i++;
  return i;
}

// ---- version 2: encoding ----

/** Scratch space for the shared prefix lengths of the node being encoded. */
let SHARED = new StaticArray<i32>(256);

/** A node's version 2 bytes (the empty leaf: the version 1 empty tree, `82 00 80`). */
export function encodeNode(n: Node): Uint8Array {
  const items = n.items;
  const count = items.length;
  if (count == 0) return EMPTY_BYTES;
  if (SHARED.length < count) SHARED = new StaticArray<i32>(count * 2);
  const shared = SHARED;
  const leaf = n.level == 0;
  // Size first, then one allocation.
  let size = 1 + 1 + headLen(<u64>n.level) + headLen(<u64>count);
  let prev: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const it = unchecked(items[i]);
    const sh = prev === null ? 0 : sharedPrefix(prev, it.key);
    unchecked(shared[i] = sh);
    const suffix = it.key.byteLength - sh;
    const vl = it.val.byteLength;
    size += 1 + headLen(<u64>sh) + headLen(<u64>suffix) + suffix + headLen(<u64>vl) + vl;
    if (leaf && it.ool) size += headLen(<u64>it.size);
    prev = it.key;
  }
  const out = new Uint8Array(size);
  let p = out.dataStart;
  store<u8>(p, 0x83); p++;
  store<u8>(p, 0x02); p++;
  p = putHead(p, 0, <u64>n.level);
  p = putHead(p, 4, <u64>count);
  for (let i = 0; i < count; i++) {
    const it = unchecked(items[i]);
    const sh = unchecked(shared[i]);
    const ool = leaf && it.ool;
    store<u8>(p, ool ? 0x84 : 0x83); p++;
    p = putHead(p, 0, <u64>sh);
    p = putBytes(p, it.key.dataStart + <usize>sh, it.key.byteLength - sh);
    p = putBytes(p, it.val.dataStart, it.val.byteLength);
    if (ool) p = putHead(p, 0, <u64>it.size);
  }
  return out;
}

// ---- version 2: parsing ----

/** A strict reader of the CBOR heads a version 2 node uses. */
class Reader {
  pos: i32 = 0;
  failed: bool = false;
  constructor(public b: Uint8Array) {}

  /** The argument of a head of major type `major` (shortest form only); -1 on any problem. */
  head(major: u32): i64 {
    const b = this.b;
    if (this.pos >= b.length) { this.failed = true; return -1; }
    const p = b.dataStart + <usize>this.pos;
    const ib = <u32>load<u8>(p);
    if ((ib >> 5) != major) { this.failed = true; return -1; }
    const ai = ib & 31;
    if (ai < 24) { this.pos += 1; return <i64>ai; }
    let n = 0;
    let v: u64 = 0;
    if (ai == 24) { n = 1; } else if (ai == 25) { n = 2; } else if (ai == 26) { n = 4; } else { this.failed = true; return -1; }
    if (this.pos + 1 + n > b.length) { this.failed = true; return -1; }
    if (n == 1) v = <u64>load<u8>(p, 1);
    else if (n == 2) v = <u64>bswap<u16>(load<u16>(p, 1));
    else v = <u64>bswap<u32>(load<u32>(p, 1));
    // Shortest form: a longer head than needed is another encoding of the same node.
    const least: u64 = n == 1 ? 24 : n == 2 ? 0x100 : 0x10000;
    if (v < least) { this.failed = true; return -1; }
    this.pos += 1 + n;
    return <i64>v;
  }

  /** A byte string: its offset in `b` (its length in `len`); -1 on a problem. */
  len: i32 = 0;
  bytes(): i32 {
    const n = this.head(2);
    if (n < 0 || <i64>this.pos + n > <i64>this.b.length) { this.failed = true; return -1; }
    const at = this.pos;
    this.len = <i32>n;
    this.pos += <i32>n;
    return at;
  }
}

function notNode(why: string): Node | null {
  setError("EINTERNAL", "not a tree node: " + why);
  return null;
}

/** Estimated memory of a parsed item (object headers, arrays) besides its key and value bytes. */
export const ITEM_COST: i32 = 96;

/** Parses a block as a node of either version; null (lastError EINTERNAL) when it is not one. */
export function parseNode(bytes: Uint8Array): Node | null {
  if (bytes.length >= 2 && load<u8>(bytes.dataStart) == 0x83) return parseV2(bytes);
  return parseV1(bytes);
}

function parseV2(bytes: Uint8Array): Node | null {
  const r = new Reader(bytes);
  r.pos = 1;
  if (r.head(0) != 2) return notNode("a 3-item node must start with its format version 2");
  const level = r.head(0);
  if (r.failed || level > <i64>LEVEL_MAX) return notNode("bad level");
  const count = r.head(4);
  if (r.failed) return notNode("expected the item array");
  if (count == 0) return notNode("an empty version 2 node (the empty tree is [0, []])");
  if (count > <i64>bytes.length) return notNode("more items than bytes");
  const leaf = level == 0;
  const items = new Array<Item>(<i32>count);
  let prev: Uint8Array | null = null;
  let cost = bytes.length + 64;
  const base = bytes.dataStart;
  for (let i = 0; i < <i32>count; i++) {
    if (r.pos >= bytes.length) return notNode("truncated at item " + i.toString());
    const ah = <u32>load<u8>(base + <usize>r.pos);
    r.pos++;
    const arity = ah == 0x83 ? 3 : ah == 0x84 && leaf ? 4 : 0;
    if (arity == 0) return notNode("item " + i.toString() + ": expected [shared, suffix, value" + (leaf ? " | valueId, size]" : "]"));
    const shared = r.head(0);
    const so = r.bytes();
    const sl = r.len;
    const vo = r.bytes();
    const vl = r.len;
    if (r.failed) return notNode("item " + i.toString() + ": bad encoding");
    // Front coding: shared is the whole common prefix with the previous key, and keys increase.
    const pl = prev === null ? 0 : prev.length;
    if (shared > <i64>pl) return notNode("item " + i.toString() + ": shares more than the previous key holds");
    const sh = <i32>shared;
    if (sl == 0) return notNode("item " + i.toString() + ": an empty key suffix");
    if (prev !== null && sh < pl && load<u8>(base + <usize>so) <= load<u8>(prev.dataStart + <usize>sh)) {
      return notNode("item " + i.toString() + ": keys out of order, or a shared prefix not taken whole");
    }
    if (sh + sl > KEY_MAX) return notNode("item " + i.toString() + ": a key over " + KEY_MAX.toString() + " bytes");
    const key = new Uint8Array(sh + sl);
    if (sh > 0) memory.copy(key.dataStart, prev!.dataStart, <usize>sh);
    memory.copy(key.dataStart + <usize>sh, base + <usize>so, <usize>sl);
    const val = bytes.subarray(vo, vo + vl);
    let it: Item;
    if (arity == 4) {
      const size = r.head(0);
      if (r.failed || vl != 32 || size <= <i64>INLINE_MAX || size > <i64>u32.MAX_VALUE) return notNode("item " + i.toString() + ": bad out-of-line entry");
      it = new Item(key, val, true, <u32>size);
    } else if (leaf) {
      if (vl > INLINE_MAX) return notNode("item " + i.toString() + ": an inline value over " + INLINE_MAX.toString() + " bytes");
      it = new Item(key, val);
    } else {
      if (vl != 32) return notNode("item " + i.toString() + ": a child id must be 32 bytes");
      it = new Item(key, val);
    }
    unchecked(items[i] = it);
    cost += ITEM_COST + key.length;
    prev = key;
  }
  if (r.pos != bytes.length) return notNode("trailing bytes");
  const n = new Node(<i32>level, items);
  n.cost = cost;
  return n;
}

/** Version 1, through the generic strict decoder (only stores written before version 2 have these). */
function parseV1(bytes: Uint8Array): Node | null {
  const d = decode(bytes);
  if (!d.ok) return notNode(d.error!.message);
  const top = d.value.asArray();
  if (top === null || top.length != 2 || !top.items[0].isUint() || top.items[0].asUint() > <u64>LEVEL_MAX) {
    return notNode("expected [level, items]");
  }
  const level = <i32>top.items[0].asUint();
  const list = top.items[1].asArray();
  if (list === null) return notNode("items must be an array");
  const items = new Array<Item>(0);
  let prev: Uint8Array | null = null;
  let cost = bytes.length * 2 + 64;
  for (let i = 0; i < list.length; i++) {
    const e = unchecked(list.items[i]).asArray();
    if (e === null || e.length < 2 || e.length > 3) return notNode("bad item " + i.toString());
    const k = e.items[0].asBytes();
    const v = e.items[1].asBytes();
    if (k === null || v === null) return notNode("item " + i.toString() + " must hold bytes");
    if (prev !== null && cmpBytes(prev, k) >= 0) return notNode("keys out of order");
    prev = k;
    if (e.length == 3) {
      if (level != 0 || !e.items[2].isUint() || v.length != 32) return notNode("bad out-of-line entry");
      items.push(new Item(k, v, true, <u32>e.items[2].asUint()));
    } else {
      if (level > 0 && v.length != 32) return notNode("a child id must be 32 bytes");
      items.push(new Item(k, v));
    }
    cost += ITEM_COST + k.length;
  }
  if (level > 0 && items.length == 0) return notNode("an empty internal node");
  const n = new Node(level, items);
  n.cost = cost;
  return n;
}
