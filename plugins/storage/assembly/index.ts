/**
 * mcp0.storage ("HeapBT"): each agent's state is a hierarchical key space kept in a
 * history-independent, content-addressed prolly tree (tree.ts). The head of an agent is the ref
 * `head/<agent>`, pointing at a commit block {tree, parent, seq}; it moves only by ref_cas, after
 * every new block of the operation has been written.
 */
import {
  Args, CborArray, CborMap, Err, Value, blocksGet, blocksPut, compareBytes, decode, encode, fail, failWith,
  readArgs, refCas, refGet, respond,
} from "@mcp0/abi/as";
import { sha256 } from "./sha256";
import {
  Change, Ctx, INLINE_MAX, Item, Node, Op, Scan, bytesEqual, diff as treeDiff, edit, emptyRoot, hex, lastError, lookup, markTree, parseNode,
} from "./tree";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

const MAX_KEY: i32 = 1024;
const MAX_VALUE: i32 = 1 << 20;
const MAX_AGENT: i32 = 200;
const MAX_LIST: u64 = 1000;
/** A list page stops after this many value bytes (outputs are capped at 4 MiB by the kernel). */
const LIST_BYTES: i32 = 2 << 20;
const MAX_HISTORY: u64 = 1000;
/** ref_cas attempts before ECONFLICT is reported. */
const RETRIES: i32 = 5;
/** Per blocks_put call: the ABI's 1,024 blocks, and a bound on bytes to keep host memory modest. */
const PUT_BLOCKS: i32 = 1024;
const PUT_BYTES: i32 = 16 << 20;
const MAX_DELTA: i32 = 100000;

export function mcp0_init(): i32 { return 0; }
export function mcp0_stop(): i32 { return 0; }

// ---- input helpers ----

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length, false);
}

/** The agent name, or null after failing the call. */
let failedCode: i32 = 0;

function agentOf(a: Args): string | null {
  const agent = a.text("agent");
  if (a.error !== null) { failedCode = a.fail(); return null; }
  const n = utf8(agent).length;
  if (n == 0) { failedCode = fail("EINPUT", '"agent" must not be empty'); return null; }
  if (n > MAX_AGENT) { failedCode = fail("ETOOBIG", '"agent" is ' + n.toString() + " bytes, the limit is " + MAX_AGENT.toString()); return null; }
  return agent;
}

function checkKey(what: string, k: Uint8Array): Err | null {
  if (k.length > MAX_KEY) return new Err("ETOOBIG", what + " is " + k.length.toString() + " bytes, the limit is " + MAX_KEY.toString());
  return null;
}

function checkValue(what: string, v: Uint8Array): Err | null {
  if (v.length > MAX_VALUE) return new Err("ETOOBIG", what + " is " + v.length.toString() + " bytes, the limit is " + MAX_VALUE.toString());
  return null;
}

function rootArg(a: Args, name: string): Uint8Array | null {
  const r = a.bytes(name);
  if (a.error !== null) return null;
  if (r.length != 32) { a.error = '"' + name + '" must be a 32-byte block id, got ' + r.length.toString() + " bytes"; return null; }
  return r;
}

// ---- heads ----

class Head {
  constructor(public version: u64, public commit: Uint8Array | null, public tree: Uint8Array, public seq: u64) {}
}

function refName(agent: string): string { return "head/" + agent; }

let EMPTY_ID: Uint8Array = new Uint8Array(0);
function emptyId(): Uint8Array {
  if (EMPTY_ID.length == 0) EMPTY_ID = sha256(encode(Value.array().push(Value.uint(0)).push(Value.array())));
  return EMPTY_ID;
}

class Commit {
  constructor(public tree: Uint8Array, public parent: Uint8Array | null, public seq: u64) {}
}

function encodeCommit(c: Commit): Uint8Array {
  const p = c.parent;
  return encode(Value.map()
    .set("tree", Value.bytes(c.tree))
    .set("parent", p === null ? Value.nil() : Value.bytes(p))
    .set("seq", Value.uint(c.seq)));
}

function loadCommit(id: Uint8Array): Commit | null {
  const r = blocksGet(id);
  if (!r.ok) { errOut = r.error!; return null; }
  const bytes = r.value;
  if (bytes === null) { errOut = new Err("EINTERNAL", "commit block " + hex(id) + " is missing"); return null; }
  const d = decode(bytes);
  const m: CborMap | null = d.ok ? d.value.asMap() : null;
  if (m !== null) {
    const tree = m.getBytes("tree");
    const parent = m.get("parent");
    const seq = m.get("seq");
    if (tree !== null && parent !== null && seq !== null && seq.isUint() && (parent.isNull() || parent.asBytes() !== null)) {
      return new Commit(tree, parent.asBytes(), seq.asUint());
    }
  }
  errOut = new Err("EINTERNAL", "block " + hex(id) + " is not a storage commit");
  return null;
}

let errOut: Err = new Err("EINTERNAL", "");

function loadHead(agent: string): Head | null {
  const r = refGet(refName(agent));
  if (!r.ok) { errOut = r.error!; return null; }
  const ref = r.value;
  if (ref === null) return new Head(0, null, emptyId(), 0);
  const c = loadCommit(ref.root);
  if (c === null) return null;
  return new Head(ref.version, ref.root, c.tree, c.seq);
}

/**
 * Write the new blocks reachable from `root`, then a commit, then move the head by ref_cas.
 * Returns null on success, or the error (ECONFLICT: the caller retries).
 */
function commitRoot(ctx: Ctx, agent: string, head: Head, root: Node): Err | null {
  if (root.level == 0 && root.items.length == 0) emptyRoot(ctx); // make sure the empty leaf is written
  const blocks = ctx.reachable(root);
  const commit = encodeCommit(new Commit(root.id, head.commit, head.seq + 1));
  blocks.push(commit);
  let i = 0;
  while (i < blocks.length) {
    const batch = new Array<Uint8Array>();
    let bytes = 0;
    while (i < blocks.length && batch.length < PUT_BLOCKS && (batch.length == 0 || bytes + unchecked(blocks[i]).length <= PUT_BYTES)) {
      bytes += unchecked(blocks[i]).length;
      batch.push(unchecked(blocks[i++]));
    }
    const r = blocksPut(batch);
    if (!r.ok) return r.error;
  }
  const cas = refCas(refName(agent), head.version, sha256(commit));
  if (!cas.ok) return cas.error;
  return null;
}

// ---- responses ----

function entryValue(ctx: Ctx, it: Item): Uint8Array | null {
  return ctx.value(it);
}

// ---- exports ----

/** {agent, key} → bytes | null. */
export function get(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const key = utf8(a.text("key"));
  if (a.error !== null) return a.fail();
  const ke = checkKey('"key"', key);
  if (ke !== null) return failWith(ke);
  const head = loadHead(agent);
  if (head === null) return failWith(errOut);
  const ctx = new Ctx();
  const l = lookup(ctx, head.tree, key);
  if (l.failed) return failWith(lastError);
  if (!l.found) return respond(Value.nil());
  const v = entryValue(ctx, l.item!);
  if (v === null) return failWith(lastError);
  return respond(Value.bytes(v));
}

function leafItem(ctx: Ctx, key: Uint8Array, value: Uint8Array): Item {
  if (value.length <= INLINE_MAX) return new Item(key, value);
  return new Item(key, ctx.addValue(value), true, <u32>value.length);
}

/** Edit the agent's tree with level-0 ops built by `build`, commit, retry on ECONFLICT. */
class Outcome {
  root: Uint8Array = new Uint8Array(0);
  existed: bool = false;
  err: Err | null = null;
}

/** The kinds of edit an export makes. */
const enum EditKind { Put, Delete, Apply }

function runEdit(ctx: Ctx, agent: string, kind: EditKind, key: Uint8Array, value: Uint8Array, delta: Array<Op>): Outcome {
  const out = new Outcome();
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const head = loadHead(agent);
    if (head === null) { out.err = errOut; return out; }
    let ops: Array<Op>;
    if (kind == EditKind.Put) {
      ops = [new Op(key, key, [leafItem(ctx, key, value)])];
    } else if (kind == EditKind.Delete) {
      const l = lookup(ctx, head.tree, key);
      if (l.failed) { out.err = lastError; return out; }
      out.existed = l.found;
      if (!l.found) { out.root = head.tree; return out; }
      ops = [new Op(key, key, new Array<Item>())];
    } else {
      ops = delta;
    }
    const root = edit(ctx, head.tree, ops);
    if (root === null) { out.err = lastError; return out; }
    out.root = root.id;
    if (bytesEqual(root.id, head.tree) && head.commit !== null) return out; // nothing changed
    const e = commitRoot(ctx, agent, head, root);
    if (e === null) return out;
    if (e.code != "ECONFLICT") { out.err = e; return out; }
  }
  out.err = new Err("ECONFLICT", "the head of " + agent + " kept moving; gave up after " + RETRIES.toString() + " attempts");
  return out;
}

/** {agent, key, value: bytes} → {root}. */
export function put(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const key = utf8(a.text("key"));
  const value = a.bytes("value");
  if (a.error !== null) return a.fail();
  let e = checkKey('"key"', key);
  if (e === null) e = checkValue('"value"', value);
  if (e !== null) return failWith(e);
  const o = runEdit(new Ctx(), agent, EditKind.Put, key, value, []);
  if (o.err !== null) return failWith(o.err!);
  return respond(Value.map().set("root", Value.bytes(o.root)));
}

/** {agent, key} → {root, existed}. */
export function del(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const key = utf8(a.text("key"));
  if (a.error !== null) return a.fail();
  const e = checkKey('"key"', key);
  if (e !== null) return failWith(e);
  const o = runEdit(new Ctx(), agent, EditKind.Delete, key, new Uint8Array(0), []);
  if (o.err !== null) return failWith(o.err!);
  return respond(Value.map().set("root", Value.bytes(o.root)).set("existed", Value.bool(o.existed)));
}
export { del as delete };

function startsWith(k: Uint8Array, p: Uint8Array): bool {
  if (k.length < p.length) return false;
  return memory.compare(k.dataStart, p.dataStart, p.length) == 0;
}

/** {agent, prefix?, limit?, cursor?} → {entries: [[key, value]...], cursor: text | null}. */
export function list(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const prefix = utf8(a.textOr("prefix", ""));
  const limit = a.uintOr("limit", 100);
  const after = a.optText("cursor");
  if (a.error !== null) return a.fail();
  let e = checkKey('"prefix"', prefix);
  if (e !== null) return failWith(e);
  if (limit == 0 || limit > MAX_LIST) return fail("EINPUT", '"limit" must be 1..' + MAX_LIST.toString());
  let from = prefix;
  if (after !== null) {
    const c = utf8(after);
    e = checkKey('"cursor"', c);
    if (e !== null) return failWith(e);
    const succ = new Uint8Array(c.length + 1); // the smallest key after the cursor
    succ.set(c);
    if (compareBytes(succ, from) > 0) from = succ;
  }
  const head = loadHead(agent);
  if (head === null) return failWith(errOut);
  const ctx = new Ctx();
  const root = ctx.load(head.tree);
  if (root === null) return failWith(lastError);
  const scan = new Scan(ctx, root, from);
  if (scan.failed) return failWith(lastError);
  const entries = Value.array();
  let bytes = 0;
  let lastKey: Uint8Array | null = null;
  let more = false;
  while (true) {
    const it = scan.next();
    if (it === null) { if (scan.failed) return failWith(lastError); break; }
    if (!startsWith(it.key, prefix)) break;
    if (<u64>entries.length >= limit || bytes >= LIST_BYTES) { more = true; break; }
    const v = entryValue(ctx, it);
    if (v === null) return failWith(lastError);
    bytes += v.length + it.key.length;
    entries.push(Value.array().push(Value.text(text(it.key))).push(Value.bytes(v)));
    lastKey = it.key;
  }
  return respond(Value.map().set("entries", entries)
    .set("cursor", more && lastKey !== null ? Value.text(text(lastKey!)) : Value.nil()));
}

/** {agent} → {root, version}: the current head (a snapshot is its root id). */
export function snapshot(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const head = loadHead(agent);
  if (head === null) return failWith(errOut);
  return respond(Value.map().set("root", Value.bytes(head.tree)).set("version", Value.uint(head.version)));
}

/** Load a tree root named by a caller: ENOTFOUND when absent, EINPUT when it is not a tree node. */
function userRoot(ctx: Ctx, id: Uint8Array, what: string): Node | null {
  if (bytesEqual(id, emptyId())) return emptyRoot(ctx);
  const r = blocksGet(id);
  if (!r.ok) { errOut = r.error!; return null; }
  const bytes = r.value;
  if (bytes === null) { errOut = new Err("ENOTFOUND", what + " " + hex(id) + " is not in the block store"); return null; }
  const n = parseNode(bytes);
  if (n === null) { errOut = new Err("EINPUT", what + " " + hex(id) + " is not a tree node (" + lastError.message + ")"); return null; }
  n.id = id;
  ctx.nodes.set(hex(id), n);
  return n;
}

/** {agent, root} → {root}: the head moves to an existing root (a new version, whose parent is the old head). */
export function restore(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const id = rootArg(a, "root");
  if (a.error !== null) return a.fail();
  const ctx = new Ctx();
  const root = userRoot(ctx, id!, "root");
  if (root === null) return failWith(errOut);
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const head = loadHead(agent);
    if (head === null) return failWith(errOut);
    if (bytesEqual(head.tree, root.id) && head.commit !== null) break;
    // A root in the head's recent history is live through that history for as long as our CAS can
    // win (dropping history moves the head). Any other root's blocks, those the current head does
    // not share, are put again, so a gc sweep running now cannot remove them (a re-put freshens a
    // block); that also checks they all exist.
    const inHistory = historyHas(head.commit, root.id);
    if (inHistory < 0) return failWith(errOut);
    if (inHistory == 0) {
      const current = ctx.load(head.tree);
      if (current === null) return failWith(lastError);
      if (treeDiff(ctx, current, root, true) === null) return failWith(missingAsNotFound(lastError, id!));
    }
    const e = commitRoot(ctx, agent, head, root);
    if (e === null) return respond(Value.map().set("root", Value.bytes(root.id)));
    if (e.code != "ECONFLICT") return failWith(e);
    if (attempt == RETRIES - 1) return fail("ECONFLICT", "the head of " + agent + " kept moving");
  }
  return respond(Value.map().set("root", Value.bytes(root.id)));
}

/** Commits of history `restore` looks through for its root before it re-puts the tree. */
const RESTORE_LOOKBACK: i32 = 1000;

/** 1 when `tree` is the tree of one of the newest RESTORE_LOOKBACK commits from `commit`, 0 if not, -1 on failure (errOut). */
function historyHas(commit: Uint8Array | null, tree: Uint8Array): i32 {
  let id = commit;
  for (let i = 0; id !== null && i < RESTORE_LOOKBACK; i++) {
    const c = loadCommit(id!);
    if (c === null) return -1;
    if (bytesEqual(c.tree, tree)) return 1;
    id = c.parent;
  }
  return 0;
}

/** A block the restored tree names is gone (e.g. swept by gc): ENOTFOUND, not an internal fault. */
function missingAsNotFound(e: Err, root: Uint8Array): Err {
  if (e.code == "EINTERNAL" && e.message.includes("is missing")) return new Err("ENOTFOUND", "root " + hex(root) + " is incomplete: " + e.message);
  return e;
}

/** {rootA, rootB} → {puts: [[key, value]...], deletes: [key...]}: what turns A into B. */
export function diffRoots(): i32 {
  const a = readArgs();
  const ida = rootArg(a, "rootA");
  const idb = rootArg(a, "rootB");
  if (a.error !== null) return a.fail();
  const ctx = new Ctx();
  const ra = userRoot(ctx, ida!, "rootA");
  if (ra === null) return failWith(errOut);
  const rb = userRoot(ctx, idb!, "rootB");
  if (rb === null) return failWith(errOut);
  const changes = treeDiff(ctx, ra, rb);
  if (changes === null) return failWith(lastError);
  const puts = Value.array();
  const deletes = Value.array();
  for (let i = 0; i < changes.length; i++) {
    const c: Change = unchecked(changes[i]);
    const it = c.item;
    if (it === null) { deletes.push(Value.text(text(c.key))); continue; }
    const v = entryValue(ctx, it);
    if (v === null) return failWith(lastError);
    puts.push(Value.array().push(Value.text(text(c.key))).push(Value.bytes(v)));
  }
  return respond(Value.map().set("puts", puts).set("deletes", deletes));
}
export { diffRoots as diff };

function opOrder(x: Op, y: Op): i32 { return compareBytes(x.lo, y.lo); }

/** {agent, delta: {puts?: [[key, value]...], deletes?: [key...]}} → {root}. */
export function apply(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const delta = a.map("delta");
  if (a.error !== null) return a.fail();
  const ctx = new Ctx();
  const ops = new Array<Op>();
  const pv = delta.get("puts");
  const dv = delta.get("deletes");
  const puts: CborArray | null = pv === null || pv.isNull() ? Value.array() : pv.asArray();
  const dels: CborArray | null = dv === null || dv.isNull() ? Value.array() : dv.asArray();
  if (puts === null || dels === null) return fail("EINPUT", '"delta" must be {puts: [[key, value]...], deletes: [key...]}');
  if (puts.length + dels.length > MAX_DELTA) return fail("ETOOBIG", "a delta holds at most " + MAX_DELTA.toString() + " changes");
  for (let i = 0; i < puts.length; i++) {
    const p = unchecked(puts.items[i]).asArray();
    const k: string | null = p !== null && p.length == 2 ? unchecked(p.items[0]).asText() : null;
    const v: Uint8Array | null = p !== null && p.length == 2 ? unchecked(p.items[1]).asBytes() : null;
    if (k === null || v === null) return fail("EINPUT", '"delta.puts[' + i.toString() + ']" must be [key: text, value: bytes]');
    const kb = utf8(k);
    let e = checkKey('"delta.puts[' + i.toString() + ']" key', kb);
    if (e === null) e = checkValue('"delta.puts[' + i.toString() + ']" value', v);
    if (e !== null) return failWith(e);
    ops.push(new Op(kb, kb, [leafItem(ctx, kb, v)]));
  }
  for (let i = 0; i < dels.length; i++) {
    const k = unchecked(dels.items[i]).asText();
    if (k === null) return fail("EINPUT", '"delta.deletes[' + i.toString() + ']" must be text');
    const kb = utf8(k);
    const e = checkKey('"delta.deletes[' + i.toString() + ']"', kb);
    if (e !== null) return failWith(e);
    ops.push(new Op(kb, kb, new Array<Item>()));
  }
  ops.sort(opOrder);
  for (let i = 1; i < ops.length; i++) {
    if (compareBytes(unchecked(ops[i - 1]).lo, unchecked(ops[i]).lo) == 0) {
      return fail("EINPUT", '"delta" names the key "' + text(unchecked(ops[i]).lo) + '" twice');
    }
  }
  const o = runEdit(ctx, agent, EditKind.Apply, new Uint8Array(0), new Uint8Array(0), ops);
  if (o.err !== null) return failWith(o.err!);
  return respond(Value.map().set("root", Value.bytes(o.root)));
}

/** {agent, limit?} → {roots: [root...]}: the tree roots of the head and its ancestors, newest first. */
export function history(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const limit = a.uintOr("limit", 20);
  if (a.error !== null) return a.fail();
  if (limit == 0 || limit > MAX_HISTORY) return fail("EINPUT", '"limit" must be 1..' + MAX_HISTORY.toString());
  const roots = Value.array();
  const r = refGet(refName(agent));
  if (!r.ok) return failWith(r.error!);
  let id: Uint8Array | null = r.value === null ? null : r.value!.root;
  while (id !== null && <u64>roots.length < limit) {
    const c = loadCommit(id!);
    if (c === null) return failWith(errOut);
    roots.push(Value.bytes(c.tree));
    id = c.parent;
  }
  return respond(Value.map().set("roots", roots));
}

// ---- gc: retention and marking (the host sweeps) ----

/** Ids per gc answer: 65,536 × 32 bytes = 2 MiB (outputs are capped at 4 MiB). */
const GC_PAGE: u64 = 65536;
/** Commits a retention policy may keep. */
const MAX_KEEP: u64 = 1000000;

/** The commits from `id` back along `parent`, at most `limit` (0: all); null with errOut on failure. */
class Chain {
  ids: Array<Uint8Array> = new Array<Uint8Array>();
  commits: Array<Commit> = new Array<Commit>();
}

function walkChain(id: Uint8Array | null, limit: u64): Chain | null {
  const chain = new Chain();
  while (id !== null && (limit == 0 || <u64>chain.ids.length < limit)) {
    const c = loadCommit(id!);
    if (c === null) return null;
    chain.ids.push(id!);
    chain.commits.push(c);
    id = c.parent;
  }
  return chain;
}

/**
 * Drops the history of `agent` past its newest `keep` commits: those commits are written again,
 * the oldest with no parent, and the head moves to the new newest one by ref_cas (the trees, and
 * so every snapshot root in the kept history, are unchanged). Returns whether history was dropped.
 */
class Truncation {
  dropped: bool = false;
  err: Err | null = null;
}

function truncate(agent: string, keep: u64): Truncation {
  const out = new Truncation();
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const r = refGet(refName(agent));
    if (!r.ok) { out.err = r.error; return out; }
    const ref = r.value;
    if (ref === null) return out;
    const chain = walkChain(ref.root, keep);
    if (chain === null) { out.err = errOut; return out; }
    const n = chain.commits.length;
    if (<u64>n < keep || unchecked(chain.commits[n - 1]).parent === null) return out;
    const blocks = new Array<Uint8Array>();
    let parent: Uint8Array | null = null;
    for (let i = n - 1; i >= 0; i--) {
      const c = unchecked(chain.commits[i]);
      const bytes = encodeCommit(new Commit(c.tree, parent, c.seq));
      blocks.push(bytes);
      parent = sha256(bytes);
    }
    for (let i = 0; i < blocks.length; i += PUT_BLOCKS) {
      const p = blocksPut(blocks.slice(i, min(i + PUT_BLOCKS, blocks.length)));
      if (!p.ok) { out.err = p.error; return out; }
    }
    const cas = refCas(refName(agent), ref.version, parent!);
    if (cas.ok) { out.dropped = true; return out; }
    if (cas.error!.code != "ECONFLICT") { out.err = cas.error; return out; }
  }
  out.err = new Err("ECONFLICT", "the head of " + agent + " kept moving; gave up dropping its history after " + RETRIES.toString() + " attempts");
  return out;
}

function hexOrder(a: string, b: string): i32 { return a < b ? -1 : a > b ? 1 : 0; }

/**
 * {agent, keep?: 1..1000000, after?: bytes(32) | null, limit?: 1..65536} →
 * {live: bytes, cursor: bytes | null, blocks: uint, commits: uint, dropped: bool}.
 *
 * The mark half of gc for one agent. With `keep`, history past the newest `keep` commits is first
 * dropped (see truncate). Then every block reachable from the head is marked: each commit of the
 * (remaining) history, its tree's nodes and out-of-line values. `live` is the marked ids, 32 bytes
 * each, concatenated in byte order, those after `after`, at most `limit`; `cursor` is the last one
 * when more follow. The host sweeps: it deletes the stored blocks no agent marked that were last
 * written before the gc began minus a grace period (sdk/src/store/gc.ts).
 */
export function gc(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const keep = a.uintOr("keep", 0);
  const hasKeep = a.has("keep") && !a.value("keep").isNull();
  const after = a.optBytes("after");
  const limit = a.uintOr("limit", GC_PAGE);
  if (a.error !== null) return a.fail();
  if (hasKeep && (keep == 0 || keep > MAX_KEEP)) return fail("EINPUT", '"keep" must be 1..' + MAX_KEEP.toString() + " (commits kept per agent), got " + keep.toString());
  if (after !== null && after.length != 32) return fail("EINPUT", '"after" must be a 32-byte block id, got ' + after.length.toString() + " bytes");
  if (limit == 0 || limit > GC_PAGE) return fail("EINPUT", '"limit" must be 1..' + GC_PAGE.toString());
  let dropped = false;
  if (hasKeep) {
    const t = truncate(agent, keep);
    if (t.err !== null) return failWith(t.err!);
    dropped = t.dropped;
  }
  const r = refGet(refName(agent));
  if (!r.ok) return failWith(r.error!);
  const seen = new Set<string>();
  const ids = new Array<Uint8Array>();
  let commits: u64 = 0;
  if (r.value !== null) {
    const chain = walkChain(r.value!.root, 0);
    if (chain === null) return failWith(errOut);
    commits = <u64>chain.ids.length;
    const ctx = new Ctx();
    for (let i = 0; i < chain.ids.length; i++) {
      const cid = unchecked(chain.ids[i]);
      const ch = hex(cid);
      if (!seen.has(ch)) { seen.add(ch); ids.push(cid); }
      if (!markTree(ctx, unchecked(chain.commits[i]).tree, seen, ids)) return failWith(lastError);
    }
  }
  const keys = new Array<string>(ids.length);
  const byHex = new Map<string, Uint8Array>();
  for (let i = 0; i < ids.length; i++) {
    const h = hex(unchecked(ids[i]));
    unchecked(keys[i] = h);
    byHex.set(h, unchecked(ids[i]));
  }
  keys.sort(hexOrder);
  const from = after === null ? "" : hex(after!);
  let start = 0;
  while (start < keys.length && unchecked(keys[start]) <= from && from.length > 0) start++;
  const end = <i32>min(<u64>keys.length, <u64>start + limit);
  const live = new Uint8Array((end - start) * 32);
  for (let i = start; i < end; i++) live.set(byHex.get(unchecked(keys[i])), (i - start) * 32);
  return respond(Value.map()
    .set("live", Value.bytes(live))
    .set("cursor", end < keys.length && end > start ? Value.bytes(byHex.get(unchecked(keys[end - 1]))) : Value.nil())
    .set("blocks", Value.uint(<u64>keys.length))
    .set("commits", Value.uint(commits))
    .set("dropped", Value.bool(dropped)));
}
