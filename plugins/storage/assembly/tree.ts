/**
 * HeapBT: a history-independent, content-addressed prolly tree. The format is specified in
 * README.md ("Block and node format", "Boundaries"); this file is its reference implementation.
 *
 * - Keys are UTF-8 byte strings, ordered bytewise. Level-0 nodes (leaves) hold entries; level-L
 *   nodes hold refs `[lastKey, childId]` to level L-1 nodes.
 * - rank(key) = floor(leading zero bits of SipHash-2-4(salt, key) / 5), the salt being the agent's
 *   secret (kept in its commits). A node of level L ends after an item of rank > L (about one
 *   item in 32), or after the item that brings it to MAX_ITEMS items or MAX_WEIGHT bytes of
 *   weight. Boundaries depend on the keys (and values' sizes) and the salt only, so the same
 *   key/value set always gives the same tree under one salt, whatever the order of operations.
 * - Values longer than INLINE_MAX bytes live in their own block (the raw value bytes); the leaf
 *   holds the block's id and the value's size.
 *
 * AssemblyScript has no exceptions: fallible functions return null and leave the error in `lastError`.
 */
import { getBlock, hostError } from "./hostio";
import { cacheNode, cacheValue, cachedNode, cachedValue, key64, uncacheNode } from "./cache";
import { EMPTY_BYTES, ITEM_COST, Item, Node, bytesEqual, cmpBytes, encodeNode, hex, lastError, parseNode, setErr, setError, sharedPrefix } from "./node";
import { sha256 } from "./sha256";
import { siphash24 } from "./siphash";

export { INLINE_MAX, Item, Node, bytesEqual, hex, lastError, parseNode, setError } from "./node";

/** A node ends after an item whose rank is above its level; rank = leading zero bits / RANK_BITS. */
export const RANK_BITS: i32 = 4;
/** A node also ends after its MAX_ITEMS-th item ... */
export const MAX_ITEMS: i32 = 128;
/** ... or after the item that brings its weight (key suffixes + value fields, in bytes) to MAX_WEIGHT. */
export const MAX_WEIGHT: i32 = 8192;

// ---- the salt of the operation, and ranks ----

let saltK0: u64 = 0;
let saltK1: u64 = 0;
/** The interned id of the salt in use (items cache their rank under it); -2 before any. */
let saltId: i32 = -2;
let nextSaltId: i32 = 0;
const saltIds = new Map<u64, i32>();
const saltSeconds = new Map<u64, u64>();

/** Sets the salt ranks are computed with (16 bytes: SipHash's key, read little-endian). */
export function useSalt(salt: Uint8Array): void {
  const k0 = load<u64>(salt.dataStart);
  const k1 = load<u64>(salt.dataStart, 8);
  if (saltId >= 0 && k0 == saltK0 && k1 == saltK1) return;
  saltK0 = k0;
  saltK1 = k1;
  if (saltIds.has(k0) && saltSeconds.get(k0) == k1) {
    saltId = saltIds.get(k0);
    return;
  }
  if (saltIds.size >= 65536) { saltIds.clear(); saltSeconds.clear(); }
  saltId = nextSaltId++;
  saltIds.set(k0, saltId);
  saltSeconds.set(k0, k1);
}

/** The boundary rank of a key under the salt in use. */
// @ts-ignore: decorator
@inline export function rankOf(it: Item): i32 {
  return it.rankSalt == saltId ? it.rank : computeRank(it);
}

function computeRank(it: Item): i32 {
  const h = siphash24(saltK0, saltK1, it.key.dataStart, it.key.byteLength);
  const r = <i32>clz<u64>(h) / RANK_BITS;
  it.rank = r;
  it.rankSalt = saltId;
  return r;
}

// ---- sets of block ids ----

class IdEntry {
  next: IdEntry | null = null;
  constructor(public id: Uint8Array) {}
}

/** A set of 32-byte ids, hashed by their first 8 bytes (whole ids compared). */
export class IdSet {
  map: Map<u64, IdEntry> = new Map<u64, IdEntry>();
  size: i32 = 0;
  /** The ids, in the order they were added. */
  ids: Array<Uint8Array> = new Array<Uint8Array>();

  has(id: Uint8Array): bool {
    const k = key64(id);
    if (!this.map.has(k)) return false;
    let e: IdEntry | null = this.map.get(k);
    while (e !== null) {
      if (bytesEqual(e.id, id)) return true;
      e = e.next;
    }
    return false;
  }

  /** Adds `id`; false when it was there already. */
  add(id: Uint8Array): bool {
    const k = key64(id);
    const e = new IdEntry(id);
    if (this.map.has(k)) {
      let cur: IdEntry | null = this.map.get(k);
      while (cur !== null) {
        if (bytesEqual(cur.id, id)) return false;
        cur = cur.next;
      }
      e.next = this.map.get(k);
    }
    this.map.set(k, e);
    this.size++;
    this.ids.push(id);
    return true;
  }
}

// ---- the block context of one operation ----

/** A block computed by this operation, not yet written. */
class Pending {
  next: Pending | null = null;
  constructor(public id: Uint8Array, public bytes: Uint8Array, public node: Node | null) {}
}

/** The empty tree, known without reading it (a fresh agent's head names it before it is stored). */
export const EMPTY_ID: Uint8Array = sha256(EMPTY_BYTES);
const EMPTY_NODE: Node = emptyNode();

function emptyNode(): Node {
  const n = new Node(0, new Array<Item>());
  n.id = EMPTY_ID;
  n.raw = EMPTY_BYTES;
  return n;
}

/** Blocks read and written during one operation: reads go through the node cache, new blocks wait here. */
export class Ctx {
  pending: Map<u64, Pending> = new Map<u64, Pending>();
  /** Nodes of the edited tree that the edit replaced (dropped from the cache once it commits). */
  replaced: Array<Uint8Array> = new Array<Uint8Array>();
  /** Nodes of the edited tree that a re-cut gave back unchanged. */
  kept: IdSet | null = null;

  private pendingOf(id: Uint8Array): Pending | null {
    const k = key64(id);
    if (!this.pending.has(k)) return null;
    let p: Pending | null = this.pending.get(k);
    while (p !== null) {
      if (bytesEqual(p.id, id)) return p;
      p = p.next;
    }
    return null;
  }

  /** Queues a block for the commit (a block already queued is kept once). */
  addBlock(id: Uint8Array, bytes: Uint8Array, node: Node | null): void {
    const k = key64(id);
    const p = new Pending(id, bytes, node);
    if (this.pending.has(k)) {
      let cur: Pending | null = this.pending.get(k);
      while (cur !== null) {
        if (bytesEqual(cur.id, id)) { if (cur.node === null) cur.node = node; return; }
        cur = cur.next;
      }
      p.next = this.pending.get(k);
    }
    this.pending.set(k, p);
  }

  has(id: Uint8Array): bool {
    return this.pendingOf(id) !== null;
  }

  /**
   * Registers a new node; sets and returns its id. A node equal to one of `unchanged` (nodes of
   * the tree being edited, so stored and reachable from the head) is not queued again.
   */
  addNode(n: Node, unchanged: IdSet | null = null): Uint8Array {
    const bytes = encodeNode(n);
    const id = sha256(bytes);
    n.id = id;
    if (unchanged !== null && unchanged.has(id)) {
      if (this.kept === null) this.kept = new IdSet();
      this.kept!.add(id);
      return id;
    }
    const items = n.items;
    const count = items.length;
    let cost = bytes.byteLength + 64 + count * ITEM_COST;
    for (let i = 0; i < count; i++) cost += unchecked(items[i]).key.byteLength;
    n.cost = cost;
    this.addBlock(id, bytes, n);
    return id;
  }

  addValue(value: Uint8Array): Uint8Array {
    const id = sha256(value);
    this.addBlock(id, value, null);
    return id;
  }

  /** A node by id: this operation's, else the cache's, else the store's (then cached). */
  load(id: Uint8Array): Node | null {
    if (bytesEqual(id, EMPTY_ID)) return EMPTY_NODE;
    const p = this.pendingOf(id);
    if (p !== null && p.node !== null) return p.node;
    const c = cachedNode(id);
    if (c !== null) return c;
    const n = readNode(id, false);
    if (n !== null) cacheNode(n);
    return n;
  }

  /** The value an entry holds (fetching an out-of-line block); null with lastError on failure. */
  value(it: Item): Uint8Array | null {
    if (!it.ool) return it.val;
    const p = this.pendingOf(it.val);
    if (p !== null) return p.bytes;
    const c = cachedValue(it.val);
    if (c !== null) return c;
    const r = getBlock(it.val);
    if (!r.ok) { setErr(hostError); return null; }
    const v = r.bytes;
    if (v === null) { setError("EINTERNAL", "value block " + hex(it.val) + " is missing from the store"); return null; }
    cacheValue(it.val, v);
    return v;
  }

  /**
   * The new blocks reachable from `root`, children before parents (so a prefix of the list never
   * names a missing block), skipping subtrees that are already stored.
   */
  reachable(root: Node): Array<Pending> {
    const out = new Array<Pending>();
    const seen = new IdSet();
    this.collect(root.id, out, seen);
    return out;
  }

  private collect(id: Uint8Array, out: Array<Pending>, seen: IdSet): void {
    const p = this.pendingOf(id);
    if (p === null || !seen.add(id)) return;
    const n = p.node;
    if (n !== null) {
      const items = n.items;
      const count = items.length;
      for (let i = 0; i < count; i++) {
        const it = unchecked(items[i]);
        if (n.level > 0) {
          this.collect(it.val, out, seen);
        } else if (it.ool) {
          const v = this.pendingOf(it.val);
          if (v !== null && seen.add(it.val)) out.push(v);
        }
      }
    }
    out.push(p);
  }
}

/**
 * Reads a node from the store, bypassing the cache (`keepRaw`: keep its bytes for a re-put).
 * Null with lastError when the store fails, the block is missing (EINTERNAL "... is missing"),
 * or it is not a node.
 */
export function readNode(id: Uint8Array, keepRaw: bool): Node | null {
  if (bytesEqual(id, EMPTY_ID)) return EMPTY_NODE;
  const r = getBlock(id);
  if (!r.ok) { setErr(hostError); return null; }
  const bytes = r.bytes;
  if (bytes === null) { setError("EINTERNAL", "tree block " + hex(id) + " is missing from the store"); return null; }
  const n = parseNode(bytes);
  if (n === null) return null;
  n.id = id;
  if (keepRaw) n.raw = bytes;
  return n;
}

// ---- lookups ----

/** Index of the first item with key ≥ `key`, or the last index when there is none. */
function childFor(n: Node, key: Uint8Array): i32 {
  const items = n.items;
  let lo = 0, hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmpBytes(unchecked(items[mid]).key, key) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The leaf entry under `key`, or null (check `found`; lastError is set on a store failure). */
export class Lookup {
  found: bool = false;
  item: Item | null = null;
  failed: bool = false;
}

export function lookup(ctx: Ctx, root: Node, key: Uint8Array): Lookup {
  const r = new Lookup();
  let n: Node | null = root;
  while (n !== null && n.level > 0) n = ctx.load(unchecked(n.items[childFor(n, key)]).val);
  if (n === null) { r.failed = true; return r; }
  if (n.items.length == 0) return r;
  const i = childFor(n, key);
  const it = unchecked(n.items[i]);
  if (bytesEqual(it.key, key)) { r.found = true; r.item = it; }
  return r;
}

// ---- cursors over one level ----

class Frame {
  constructor(public node: Node, public idx: i32) {}
}

/** A position at a node of one level: the frames from the root down, and the node. */
class Cursor {
  constructor(public frames: Array<Frame>, public node: Node, public level: i32) {}

  isTail(): bool {
    for (let i = 0; i < this.frames.length; i++) {
      const f = unchecked(this.frames[i]);
      if (f.idx != f.node.items.length - 1) return false;
    }
    return true;
  }

  /** Move to the next node of the level; false at the end (or on a store failure: see failed). */
  next(ctx: Ctx): bool {
    const frames = this.frames;
    while (frames.length > 0) {
      const f = unchecked(frames[frames.length - 1]);
      if (f.idx + 1 < f.node.items.length) {
        f.idx++;
        let n = ctx.load(unchecked(f.node.items[f.idx]).val);
        while (n !== null && n.level > this.level) {
          frames.push(new Frame(n, 0));
          n = ctx.load(unchecked(n.items[0]).val);
        }
        if (n === null) return false;
        this.node = n;
        return true;
      }
      frames.pop();
    }
    return false;
  }
}

function seek(ctx: Ctx, root: Node, level: i32, key: Uint8Array): Cursor | null {
  const frames = new Array<Frame>();
  let n: Node | null = root;
  while (n !== null && n.level > level) {
    const i = childFor(n, key);
    frames.push(new Frame(n, i));
    n = ctx.load(unchecked(n.items[i]).val);
  }
  if (n === null) return null;
  return new Cursor(frames, n, level);
}

// ---- editing ----

/** Remove items with keys in [lo, hi], insert `items` (sorted) in their place. */
export class Op {
  constructor(public lo: Uint8Array, public hi: Uint8Array, public items: Array<Item>) {}
}

/**
 * Apply sorted, disjoint ops to sorted items: the items outside every op's [lo, hi], merged in
 * key order with the ops' items (which win over an item of the same key). One pass, one array.
 */
function applyOps(raw: Array<Item>, ops: Array<Op>): Array<Item> {
  const nops = ops.length;
  const nraw = raw.length;
  let added = 0;
  for (let k = 0; k < nops; k++) added += unchecked(ops[k]).items.length;
  const out = new Array<Item>(nraw + added);
  out.length = 0;
  let j = 0; // the first op whose hi is not below the current item
  let k = 0; // the op whose items are next to add
  let m = 0; // and the index in them
  let its: Array<Item> | null = null;
  let nits = 0;
  while (k < nops) { its = unchecked(ops[k]).items; nits = its.length; if (nits > 0) break; k++; }
  for (let i = 0; i < nraw; i++) {
    const it = unchecked(raw[i]);
    let replaced = false;
    while (k < nops) {
      const a = unchecked(its![m]);
      const c = cmpBytes(a.key, it.key);
      if (c > 0) break;
      out.push(a);
      if (c == 0) replaced = true;
      if (++m >= nits) {
        m = 0;
        k++;
        while (k < nops) { its = unchecked(ops[k]).items; nits = its.length; if (nits > 0) break; k++; }
      }
    }
    if (replaced) continue;
    while (j < nops && cmpBytes(unchecked(ops[j]).hi, it.key) < 0) j++;
    if (j < nops && cmpBytes(unchecked(ops[j]).lo, it.key) <= 0) continue; // lo ≤ key ≤ hi
    out.push(it);
  }
  while (k < nops) {
    const rest = unchecked(ops[k]).items;
    const nrest = rest.length;
    for (; m < nrest; m++) out.push(unchecked(rest[m]));
    m = 0;
    k++;
  }
  return out;
}

/** A ref to a new node of `items[from..to)`, keyed by its last key (whose rank it inherits). */
function emit(ctx: Ctx, items: Array<Item>, from: i32, to: i32, level: i32, unchanged: IdSet | null): Item {
  const last = unchecked(items[to - 1]);
  // `items` is the caller's own array (from applyOps, or a level's refs): one node of all of it takes it as it is.
  const mine = from == 0 && to == items.length ? items : items.slice(from, to);
  const ref = new Item(last.key, ctx.addNode(new Node(level, mine), unchanged));
  ref.rank = last.rank;
  ref.rankSalt = last.rankSalt;
  return ref;
}

/**
 * Cut items into level-`level` nodes: a node ends after an item of rank > level, or after the
 * item that brings it to MAX_ITEMS items or to MAX_WEIGHT bytes of weight (the item's key suffix
 * after the prefix it shares with the node's previous key, plus its value field). Refs to them.
 */
function chunk(ctx: Ctx, items: Array<Item>, level: i32, unchanged: IdSet | null = null): Array<Item> {
  const refs = new Array<Item>();
  const count = items.length;
  let start = 0;
  let weight = 0;
  for (let i = 0; i < count; i++) {
    const it = unchecked(items[i]);
    const shared = i == start ? 0 : sharedPrefix(unchecked(items[i - 1]).key, it.key);
    weight += it.key.byteLength - shared + it.val.byteLength;
    if (rankOf(it) > level || i + 1 - start >= MAX_ITEMS || weight >= MAX_WEIGHT) {
      refs.push(emit(ctx, items, start, i + 1, level, unchanged));
      start = i + 1;
      weight = 0;
    }
  }
  if (start < count) refs.push(emit(ctx, items, start, count, level, unchanged));
  return refs;
}

/**
 * Apply ops to the nodes of one level below the root: each run of touched nodes (extended to the
 * right until the result ends at a rank boundary, or at the level's end) is re-chunked. The run
 * starts where a node starts, and a rank boundary ends a node whatever came before it, so
 * chunking the run alone gives the nodes that chunking the whole level would. Returns the ops
 * for the level above.
 */
function editLevel(ctx: Ctx, root: Node, level: i32, ops: Array<Op>): Array<Op> | null {
  const out = new Array<Op>();
  let i = 0;
  while (i < ops.length) {
    const c = seek(ctx, root, level, unchecked(ops[i]).lo);
    if (c === null) return null;
    const lo = c.node.lastKey;
    // The run's items: the first node's own array until the run extends (then a copy that grows).
    let raw = c.node.items;
    const runOps = new Array<Op>();
    const first = raw;
    let merged: Array<Item> | null = null;
    // The run's nodes: one that comes out of the re-chunk unchanged is not written again (a long
    // run, e.g. over nodes cut by the size caps, re-chunks many nodes but changes few).
    let unchanged: IdSet | null = null;
    while (true) {
      const tail = c.isTail();
      const last = c.node.lastKey;
      while (i < ops.length && (tail || cmpBytes(unchecked(ops[i]).lo, last) <= 0)) runOps.push(unchecked(ops[i++]));
      if (tail) break;
      let extend = runOps.length > 0 && cmpBytes(unchecked(runOps[runOps.length - 1]).hi, last) > 0;
      if (!extend) {
        const m = applyOps(raw, runOps);
        merged = m;
        extend = m.length == 0 || rankOf(unchecked(m[m.length - 1])) <= level;
      }
      if (!extend) break;
      merged = null;
      if (unchanged === null) { unchanged = new IdSet(); unchanged.add(c.node.id); }
      if (!c.next(ctx)) return null;
      unchanged.add(c.node.id);
      if (raw === first) raw = raw.slice(0);
      const more = c.node.items;
      const nmore = more.length;
      for (let k = 0; k < nmore; k++) raw.push(unchecked(more[k]));
    }
    if (merged === null) merged = applyOps(raw, runOps);
    // Entries written back as they were change nothing: the run keeps its nodes. (Re-chunking it
    // would too for a tree cut under the same salt, but not for one cut under another rule, e.g.
    // a version 1 tree, which would then change shape with the same content.)
    if (level == 0 && sameItems(raw, merged!)) continue;
    if (unchanged === null) ctx.replaced.push(c.node.id);
    else {
      const ids = unchanged.ids;
      for (let k = 0; k < ids.length; k++) ctx.replaced.push(unchecked(ids[k]));
    }
    out.push(new Op(lo, c.node.lastKey, chunk(ctx, merged!, level, unchanged)));
  }
  return out;
}

function sameItems(a: Array<Item>, b: Array<Item>): bool {
  const n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) {
    const x = unchecked(a[i]), y = unchecked(b[i]);
    if (x !== y && !(bytesEqual(x.key, y.key) && sameEntry(x, y))) return false;
  }
  return true;
}

/** The empty tree: a leaf with no entries (its block queued, so a commit naming it writes it). */
export function emptyRoot(ctx: Ctx): Node {
  ctx.addBlock(EMPTY_ID, EMPTY_BYTES, EMPTY_NODE);
  return EMPTY_NODE;
}

/** Apply level-0 ops (sorted by key, one per key) to the tree at `rootId`; the new root. */
export function edit(ctx: Ctx, rootId: Uint8Array, ops0: Array<Op>): Node | null {
  const root = ctx.load(rootId);
  if (root === null) return null;
  if (ops0.length == 0) return root;
  let ops = ops0;
  const height = root.level;
  for (let level = 0; level < height; level++) {
    const next = editLevel(ctx, root, level, ops);
    if (next === null) return null;
    ops = next;
  }
  if (ops.length == 0) return root; // nothing changed below the root
  let level = height;
  const top = applyOps(root.items, ops);
  if (height == 0 && sameItems(root.items, top)) return root;
  ctx.replaced.push(root.id);
  let refs = chunk(ctx, top, level);
  while (refs.length > 1) {
    level++;
    refs = chunk(ctx, refs, level);
  }
  if (refs.length == 0) return emptyRoot(ctx);
  let n = ctx.load(unchecked(refs[0]).val);
  while (n !== null && n.level > 0 && n.items.length == 1) n = ctx.load(unchecked(n.items[0]).val);
  return n;
}

// ---- iteration and diff ----

/** An in-order walk that can skip or open subtrees. */
class Walk {
  stack: Array<Frame> = new Array<Frame>();
  /** When set, every node this walk opens is read from the store and queued in ctx (see `diff`'s `freshen`). */
  freshen: bool = false;
  constructor(root: Node) {
    this.stack.push(new Frame(root, 0));
    this.settle();
  }
  get done(): bool { return this.stack.length == 0; }
  get top(): Frame { return unchecked(this.stack[this.stack.length - 1]); }
  /** The level of the node holding the current item (0: an entry; above: a subtree ref). */
  get level(): i32 { return this.top.node.level; }
  get item(): Item { const f = this.top; return unchecked(f.node.items[f.idx]); }
  private settle(): void {
    while (this.stack.length > 0) {
      const f = this.top;
      if (f.idx < f.node.items.length) return;
      this.stack.pop();
      if (this.stack.length > 0) this.top.idx++;
    }
  }
  advance(): void { this.top.idx++; this.settle(); }
  open(ctx: Ctx): bool {
    let n: Node | null;
    if (this.freshen) {
      n = readNode(this.item.val, true);
      if (n !== null) ctx.addBlock(n.id, n.raw, n);
    } else {
      n = ctx.load(this.item.val);
    }
    if (n === null) return false;
    this.stack.push(new Frame(n, 0));
    this.settle();
    return true;
  }
}

/** A difference between two trees: key → new entry (null: deleted). */
export class Change {
  constructor(public key: Uint8Array, public item: Item | null) {}
}

function sameEntry(a: Item, b: Item): bool {
  return a.ool == b.ool && bytesEqual(a.val, b.val);
}

/**
 * The changes that turn tree A into tree B, in key order, skipping subtrees with equal ids.
 * With `freshen`, every block of B that the walk does not skip as shared with A (B's nodes it
 * opens, read from the store, and the out-of-line values of the changed entries) is also queued
 * in ctx, so a commit writes them again: restore uses it so that gc's sweep never removes a block
 * that a restored head reaches (a re-put refreshes a block's write time). `rootB` must then have
 * been read with its bytes (readNode(id, true)).
 */
export function diff(ctx: Ctx, rootA: Node, rootB: Node, freshen: bool = false): Array<Change> | null {
  const out = new Array<Change>();
  const a = new Walk(rootA);
  const b = new Walk(rootB);
  b.freshen = freshen;
  if (freshen && !bytesEqual(rootA.id, rootB.id)) ctx.addBlock(rootB.id, rootB.raw, rootB);
  while (!a.done || !b.done) {
    if (a.done || b.done) {
      const w = a.done ? b : a;
      if (w.level > 0) { if (!w.open(ctx)) return null; continue; }
      out.push(new Change(w.item.key, a.done ? w.item : null));
      w.advance();
      continue;
    }
    const la = a.level, lb = b.level;
    if (la > 0 && lb > 0 && bytesEqual(a.item.val, b.item.val)) { a.advance(); b.advance(); continue; }
    if (la > 0 || lb > 0) {
      if (la >= lb) { if (!a.open(ctx)) return null; }
      if (lb >= la) { if (!b.open(ctx)) return null; }
      continue;
    }
    const c = cmpBytes(a.item.key, b.item.key);
    if (c < 0) { out.push(new Change(a.item.key, null)); a.advance(); }
    else if (c > 0) { out.push(new Change(b.item.key, b.item)); b.advance(); }
    else {
      if (!sameEntry(a.item, b.item)) out.push(new Change(b.item.key, b.item));
      a.advance(); b.advance();
    }
  }
  if (freshen) {
    for (let i = 0; i < out.length; i++) {
      const it = unchecked(out[i]).item;
      if (it === null || !it.ool) continue;
      const r = getBlock(it.val);
      if (!r.ok) { setErr(hostError); return null; }
      const v = r.bytes;
      if (v === null) { setError("EINTERNAL", "value block " + hex(it.val) + " is missing from the store"); return null; }
      ctx.addBlock(it.val, v, null);
    }
  }
  return out;
}

/**
 * Marks every block reachable from the tree `id` (its nodes and out-of-line values) in `seen`,
 * appending new ids to `out`, reading only nodes, straight from the store (a node missing there
 * must fail the mark, whatever the cache holds): values are named by their leaf entries. Subtrees
 * already in `seen` are skipped, so marking many versions that share subtrees reads each node
 * once. False on a store failure or a missing or malformed node (lastError).
 */
export function markTree(id: Uint8Array, seen: IdSet, out: Array<Uint8Array>): bool {
  if (!seen.add(id)) return true;
  out.push(id);
  const n = readNode(id, false);
  if (n === null) return false;
  for (let i = 0; i < n.items.length; i++) {
    const it = unchecked(n.items[i]);
    if (n.level > 0) {
      if (!markTree(it.val, seen, out)) return false;
    } else if (it.ool) {
      if (seen.add(it.val)) out.push(it.val);
    }
  }
  return true;
}

/** Entries with keys ≥ `from` (in order), as a resumable walk over leaves. */
export class Scan {
  cursor: Cursor | null = null;
  idx: i32 = 0;
  failed: bool = false;

  constructor(public ctx: Ctx, root: Node, from: Uint8Array) {
    const c = seek(ctx, root, 0, from);
    if (c === null) {
      this.failed = true;
    } else {
      this.cursor = c;
      const items = c.node.items;
      let i = 0;
      while (i < items.length && cmpBytes(unchecked(items[i]).key, from) < 0) i++;
      this.idx = i;
    }
  }

  /** The next entry, or null at the end (check failed). */
  next(): Item | null {
    const c = this.cursor;
    if (c === null) return null;
    while (this.idx >= c.node.items.length) {
      if (c.isTail()) return null;
      if (!c.next(this.ctx)) { this.failed = true; return null; }
      this.idx = 0;
    }
    return unchecked(c.node.items[this.idx++]);
  }
}

/**
 * After a commit: keep the operation's new blocks (nodes, and small values) in the caches, and drop
 * the nodes it replaced (so the cache holds current trees rather than every version written).
 */
export function promote(ctx: Ctx, blocks: Array<Pending>): void {
  const replaced = ctx.replaced;
  const kept = ctx.kept;
  for (let i = 0; i < replaced.length; i++) {
    const id = unchecked(replaced[i]);
    if (kept === null || !kept.has(id)) uncacheNode(id);
  }
  for (let i = 0; i < blocks.length; i++) {
    const p = unchecked(blocks[i]);
    const n = p.node;
    if (n !== null) { if (n.items.length > 0) cacheNode(n); }
    else cacheValue(p.id, p.bytes);
  }
}

export { Pending };
