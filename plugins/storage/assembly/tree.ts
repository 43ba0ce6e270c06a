/**
 * HeapBT: a history-independent, content-addressed prolly tree. The format is specified in
 * README.md ("Block and node format"); this file is its reference implementation.
 *
 * - Keys are UTF-8 byte strings, ordered bytewise. Level-0 nodes (leaves) hold entries; level-L
 *   nodes hold refs `[lastKey, childId]` to level L-1 nodes.
 * - rank(key) = floor(leading zero bits of SHA-256(key) / 5). At level L a node ends after an item
 *   whose key has rank > L (so about one item in 32 ends a node). Boundaries depend on keys only,
 *   so the same key/value set always gives the same tree, whatever the order of operations.
 * - Values longer than INLINE_MAX bytes live in their own block (the raw value bytes); the leaf
 *   holds the block's id and the value's size.
 *
 * AssemblyScript has no exceptions: fallible functions return null and leave the error in `lastError`.
 */
import { Value, compareBytes, decode, encode, blocksGet, Err } from "@mcp0/abi/as";
import { sha256 } from "./sha256";

/** Values up to this many bytes are stored inline in the leaf. */
export const INLINE_MAX: i32 = 64;
/** A node ends after an item whose rank is above its level; rank = leading zero bits / RANK_BITS. */
export const RANK_BITS: i32 = 5;

/** The last error of a function that returned null. */
export let lastError: Err = new Err("EINTERNAL", "");

export function setError(code: string, message: string): void {
  lastError = new Err(code, message);
}

/**
 * One item of a node. Leaf: `val` is the value (inline) or its block id (`ool`, with `size`).
 * Internal: `key` is the child's last key and `val` the child's id.
 */
export class Item {
  constructor(public key: Uint8Array, public val: Uint8Array, public ool: bool = false, public size: u32 = 0) {}
}

export class Node {
  id: Uint8Array = new Uint8Array(0);
  constructor(public level: i32, public items: Array<Item>) {}
  get lastKey(): Uint8Array { return unchecked(this.items[this.items.length - 1]).key; }
}

export function hex(b: Uint8Array): string {
  const digits = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const x = <i32>unchecked(b[i]);
    s += digits.charAt(x >> 4) + digits.charAt(x & 15);
  }
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  return a.length == b.length && compareBytes(a, b) == 0;
}

/** rank(key): leading zero bits of SHA-256(key), divided by RANK_BITS. */
export function rank(key: Uint8Array): i32 {
  const h = sha256(key);
  let zeros = 0;
  for (let i = 0; i < 32; i++) {
    const b = <u32>unchecked(h[i]);
    if (b == 0) { zeros += 8; continue; }
    zeros += <i32>clz<u32>(b) - 24;
    break;
  }
  return zeros / RANK_BITS;
}

// ---- encoding ----

/** Leaf: [0, [[key, value] | [key, valueId, size], ...]]; internal: [level, [[lastKey, childId], ...]]. */
export function encodeNode(n: Node): Uint8Array {
  const arr = Value.array();
  for (let i = 0; i < n.items.length; i++) {
    const it = unchecked(n.items[i]);
    const e = Value.array().push(Value.bytes(it.key)).push(Value.bytes(it.val));
    if (it.ool) e.push(Value.uint(it.size));
    arr.push(e);
  }
  return encode(Value.array().push(Value.uint(<u64>n.level)).push(arr));
}

/** Parse a node block strictly; null (lastError EINTERNAL-ish message) when it is not a node. */
export function parseNode(bytes: Uint8Array): Node | null {
  const d = decode(bytes);
  if (!d.ok) { setError("EINTERNAL", "not a tree node: " + d.error!.message); return null; }
  const top = d.value.asArray();
  if (top === null || top.length != 2 || !top.items[0].isUint() || top.items[0].asUint() > 64) {
    setError("EINTERNAL", "not a tree node: expected [level, items]"); return null;
  }
  const level = <i32>top.items[0].asUint();
  const list = top.items[1].asArray();
  if (list === null) { setError("EINTERNAL", "not a tree node: items must be an array"); return null; }
  const items = new Array<Item>(0);
  let prev: Uint8Array | null = null;
  for (let i = 0; i < list.length; i++) {
    const e = unchecked(list.items[i]).asArray();
    if (e === null || e.length < 2 || e.length > 3) { setError("EINTERNAL", "not a tree node: bad item " + i.toString()); return null; }
    const k = e.items[0].asBytes();
    const v = e.items[1].asBytes();
    if (k === null || v === null) { setError("EINTERNAL", "not a tree node: item " + i.toString() + " must hold bytes"); return null; }
    if (prev !== null && compareBytes(prev, k) >= 0) { setError("EINTERNAL", "not a tree node: keys out of order"); return null; }
    prev = k;
    if (e.length == 3) {
      if (level != 0 || !e.items[2].isUint() || v.length != 32) { setError("EINTERNAL", "not a tree node: bad out-of-line entry"); return null; }
      items.push(new Item(k, v, true, <u32>e.items[2].asUint()));
    } else {
      if (level > 0 && v.length != 32) { setError("EINTERNAL", "not a tree node: a child id must be 32 bytes"); return null; }
      items.push(new Item(k, v));
    }
  }
  if (level > 0 && items.length == 0) { setError("EINTERNAL", "not a tree node: an empty internal node"); return null; }
  return new Node(level, items);
}

// ---- the block context of one operation ----

/** Blocks read and written during one operation: a read cache and the pending new blocks. */
export class Ctx {
  nodes: Map<string, Node> = new Map<string, Node>();
  /** New blocks by hex id (nodes and values), not yet written. */
  pending: Map<string, Uint8Array> = new Map<string, Uint8Array>();

  constructor() {
    // The empty tree is known without reading it (a fresh agent's head names it before it is stored).
    const e = new Node(0, new Array<Item>());
    e.id = sha256(encodeNode(e));
    this.nodes.set(hex(e.id), e);
  }

  /** Register a new node; sets and returns its id. */
  addNode(n: Node): Uint8Array {
    const bytes = encodeNode(n);
    const id = sha256(bytes);
    n.id = id;
    const h = hex(id);
    this.nodes.set(h, n);
    this.pending.set(h, bytes);
    return id;
  }

  addValue(value: Uint8Array): Uint8Array {
    const id = sha256(value);
    this.pending.set(hex(id), value);
    return id;
  }

  load(id: Uint8Array): Node | null {
    const h = hex(id);
    if (this.nodes.has(h)) return this.nodes.get(h);
    const r = blocksGet(id);
    if (!r.ok) { lastError = r.error!; return null; }
    const bytes = r.value;
    if (bytes === null) { setError("EINTERNAL", "tree block " + h + " is missing from the store"); return null; }
    const n = parseNode(bytes);
    if (n === null) return null;
    n.id = id;
    this.nodes.set(h, n);
    return n;
  }

  /** The value an entry holds (fetching an out-of-line block); null with lastError on failure. */
  value(it: Item): Uint8Array | null {
    if (!it.ool) return it.val;
    const h = hex(it.val);
    if (this.pending.has(h)) return this.pending.get(h);
    const r = blocksGet(it.val);
    if (!r.ok) { lastError = r.error!; return null; }
    const v = r.value;
    if (v === null) { setError("EINTERNAL", "value block " + h + " is missing from the store"); return null; }
    return v;
  }

  /**
   * The new blocks reachable from `root`, children before parents (so a prefix of the list never
   * names a missing block), skipping subtrees that are already stored.
   */
  reachable(root: Node): Array<Uint8Array> {
    const out = new Array<Uint8Array>();
    const seen = new Set<string>();
    this.collect(root, out, seen);
    return out;
  }

  private collect(n: Node, out: Array<Uint8Array>, seen: Set<string>): void {
    const h = hex(n.id);
    if (seen.has(h) || !this.pending.has(h)) return;
    seen.add(h);
    for (let i = 0; i < n.items.length; i++) {
      const it = unchecked(n.items[i]);
      const ch = hex(it.val);
      if (n.level == 0) {
        if (it.ool && !seen.has(ch) && this.pending.has(ch)) { seen.add(ch); out.push(this.pending.get(ch)); }
      } else if (this.pending.has(ch) && this.nodes.has(ch)) {
        this.collect(this.nodes.get(ch), out, seen);
      }
    }
    out.push(this.pending.get(h));
  }
}

// ---- lookups ----

/** Index of the first item with key ≥ `key`, or the last index when there is none. */
function childFor(n: Node, key: Uint8Array): i32 {
  const items = n.items;
  let lo = 0, hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(unchecked(items[mid]).key, key) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The leaf entry under `key`, or null (check `found`; lastError is set on a store failure). */
export class Lookup {
  found: bool = false;
  item: Item | null = null;
  failed: bool = false;
}

export function lookup(ctx: Ctx, rootId: Uint8Array, key: Uint8Array): Lookup {
  const r = new Lookup();
  let n = ctx.load(rootId);
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

/** Apply sorted, disjoint ops to sorted items. */
function applyOps(raw: Array<Item>, ops: Array<Op>): Array<Item> {
  const kept = new Array<Item>();
  let j = 0;
  for (let i = 0; i < raw.length; i++) {
    const it = unchecked(raw[i]);
    while (j < ops.length && compareBytes(unchecked(ops[j]).hi, it.key) < 0) j++;
    if (j < ops.length && compareBytes(unchecked(ops[j]).lo, it.key) <= 0) continue; // lo ≤ key ≤ hi
    kept.push(it);
  }
  const added = new Array<Item>();
  for (let i = 0; i < ops.length; i++) {
    const its = unchecked(ops[i]).items;
    for (let k = 0; k < its.length; k++) added.push(unchecked(its[k]));
  }
  if (added.length == 0) return kept;
  const out = new Array<Item>();
  let a = 0, b = 0;
  while (a < kept.length || b < added.length) {
    if (b >= added.length) { out.push(unchecked(kept[a++])); continue; }
    if (a >= kept.length) { out.push(unchecked(added[b++])); continue; }
    const c = compareBytes(unchecked(kept[a]).key, unchecked(added[b]).key);
    if (c < 0) out.push(unchecked(kept[a++]));
    else if (c > 0) out.push(unchecked(added[b++]));
    else { out.push(unchecked(added[b++])); a++; }
  }
  return out;
}

/** Cut items into level-`level` nodes (a node ends after an item of rank > level); refs to them. */
function chunk(ctx: Ctx, items: Array<Item>, level: i32): Array<Item> {
  const refs = new Array<Item>();
  let cur = new Array<Item>();
  for (let i = 0; i < items.length; i++) {
    const it = unchecked(items[i]);
    cur.push(it);
    if (rank(it.key) > level) {
      refs.push(new Item(it.key, ctx.addNode(new Node(level, cur))));
      cur = new Array<Item>();
    }
  }
  if (cur.length > 0) refs.push(new Item(unchecked(cur[cur.length - 1]).key, ctx.addNode(new Node(level, cur))));
  return refs;
}

/**
 * Apply ops to the nodes of one level below the root: each run of touched nodes (extended to the
 * right until the result ends at a boundary) is re-chunked. Returns the ops for the level above.
 */
function editLevel(ctx: Ctx, root: Node, level: i32, ops: Array<Op>): Array<Op> | null {
  const out = new Array<Op>();
  let i = 0;
  while (i < ops.length) {
    const c = seek(ctx, root, level, unchecked(ops[i]).lo);
    if (c === null) return null;
    const lo = c.node.lastKey;
    const raw = c.node.items.slice(0);
    const runOps = new Array<Op>();
    while (true) {
      const tail = c.isTail();
      const last = c.node.lastKey;
      while (i < ops.length && (tail || compareBytes(unchecked(ops[i]).lo, last) <= 0)) runOps.push(unchecked(ops[i++]));
      if (tail) break;
      let extend = runOps.length > 0 && compareBytes(unchecked(runOps[runOps.length - 1]).hi, last) > 0;
      if (!extend) {
        const merged = applyOps(raw, runOps);
        extend = merged.length == 0 || rank(unchecked(merged[merged.length - 1]).key) <= level;
      }
      if (!extend) break;
      if (!c.next(ctx)) return null;
      const more = c.node.items;
      for (let k = 0; k < more.length; k++) raw.push(unchecked(more[k]));
    }
    out.push(new Op(lo, c.node.lastKey, chunk(ctx, applyOps(raw, runOps), level)));
  }
  return out;
}

/** The empty tree: a leaf with no entries. */
export function emptyRoot(ctx: Ctx): Node {
  const n = new Node(0, new Array<Item>());
  ctx.addNode(n);
  return n;
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
  let level = height;
  let refs = chunk(ctx, applyOps(root.items, ops), level);
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
  /** When set, every node this walk opens is queued in ctx.pending (see `diff`'s `freshen`). */
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
    const n = ctx.load(this.item.val);
    if (n === null) return false;
    if (this.freshen) ctx.pending.set(hex(n.id), encodeNode(n));
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
 * opens, and the out-of-line values of the changed entries) is also queued in ctx.pending, so a
 * commit writes them again: restore uses it so that gc's sweep never removes a block that a
 * restored head reaches (a re-put refreshes a block's write time).
 */
export function diff(ctx: Ctx, rootA: Node, rootB: Node, freshen: bool = false): Array<Change> | null {
  const out = new Array<Change>();
  const a = new Walk(rootA);
  const b = new Walk(rootB);
  b.freshen = freshen;
  if (freshen && !bytesEqual(rootA.id, rootB.id)) ctx.pending.set(hex(rootB.id), encodeNode(rootB));
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
    const c = compareBytes(a.item.key, b.item.key);
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
      const v = ctx.value(it);
      if (v === null) return null;
      ctx.pending.set(hex(it.val), v);
    }
  }
  return out;
}

/**
 * Marks every block reachable from the tree `id` (its nodes and out-of-line values) in `seen`
 * (hex ids), reading only nodes: values are named by their leaf entries. Subtrees already in
 * `seen` are skipped, so marking many versions that share subtrees reads each node once.
 * False on a store failure or a missing or malformed node (lastError).
 */
export function markTree(ctx: Ctx, id: Uint8Array, seen: Set<string>, out: Array<Uint8Array>): bool {
  const h = hex(id);
  if (seen.has(h)) return true;
  seen.add(h);
  out.push(id);
  const n = ctx.load(id);
  if (n === null) return false;
  for (let i = 0; i < n.items.length; i++) {
    const it = unchecked(n.items[i]);
    if (n.level > 0) {
      if (!markTree(ctx, it.val, seen, out)) return false;
    } else if (it.ool) {
      const vh = hex(it.val);
      if (!seen.has(vh)) { seen.add(vh); out.push(it.val); }
    }
  }
  // Nodes are not needed again once marked: keep the per-call cache from holding the whole history.
  if (n.level > 0 || n.items.length > 0) ctx.nodes.delete(h);
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
      while (i < items.length && compareBytes(unchecked(items[i]).key, from) < 0) i++;
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
