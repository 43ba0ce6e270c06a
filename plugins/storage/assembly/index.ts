/**
 * mcp0.storage ("HeapBT"): each agent's state is a hierarchical key space kept in a
 * history-independent, content-addressed prolly tree (tree.ts). The head of an agent is the ref
 * `head/<agent>`, pointing at a commit block {tree, parent, seq, salt}; it moves only by ref_cas,
 * after every new block of the operation has been written. The salt (16 secret random bytes,
 * drawn at the agent's first write and inherited by every later commit) keys the boundary hash,
 * so an agent cannot choose keys that keep its tree from splitting.
 */
import {
  Args, CborArray, CborMap, Err, Value, compareBytes, decode, fail, failWith,
  jsonString, randomBytes, readArgs, readInput, respond, respondBytes, setError as setGuestError,
} from "@mcp0/abi/as";
import { clearCache, key64 } from "./cache";
import { casRef, encodeBytes, encodeRootAnswer, getBlock, getRef, hostError, keyLen, putBlocks, putBytes, putHead, putKey } from "./hostio";
import { fastArgs } from "./input";
import { siphash24 } from "./siphash";
import { sha256 } from "./sha256";
import {
  Change, Ctx, EMPTY_ID, INLINE_MAX, IdSet, Item, Node, Op, Scan, bytesEqual, diff as treeDiff, edit, emptyRoot, hex,
  lastError, lookup, markTree, parseNode, promote, useSalt,
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
/** Bytes of an agent's salt (SipHash-2-4's key). */
const SALT_BYTES: i32 = 16;

export function mcp0_init(): i32 { return 0; }
export function mcp0_stop(): i32 { return 0; }

// ---- input helpers ----

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length, false);
}

/** The code a failed input check returned (the call has failed). */
let failedCode: i32 = 0;

/** Checks an agent name (UTF-8): false after failing the call. */
function agentOk(agent: Uint8Array): bool {
  const n = agent.length;
  if (n == 0) { failedCode = fail("EINPUT", '"agent" must not be empty'); return false; }
  if (n > MAX_AGENT) { failedCode = fail("ETOOBIG", '"agent" is ' + n.toString() + " bytes, the limit is " + MAX_AGENT.toString()); return false; }
  return true;
}

/** The agent name of a request read through Args, as UTF-8, or null after failing the call. */
function agentOf(a: Args): Uint8Array | null {
  const agent = a.text("agent");
  if (a.error !== null) { failedCode = a.fail(); return null; }
  const b = utf8(agent);
  return agentOk(b) ? b : null;
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

/** An optional root: null when absent or null (check a.error). */
function optRootArg(a: Args, name: string): Uint8Array | null {
  const r = a.optBytes(name);
  if (a.error !== null || r === null) return null;
  if (r.length != 32) { a.error = '"' + name + '" must be a 32-byte block id, got ' + r.length.toString() + " bytes"; return null; }
  return r;
}

// ---- commits and heads ----

class Commit {
  constructor(public tree: Uint8Array, public parent: Uint8Array | null, public seq: u64, public salt: Uint8Array | null) {}
}

/**
 * `{seq, salt?, tree, parent}` (keys in deterministic order: by their encoding, so by length,
 * then bytes), written by hand: it is on every write's path.
 */
function encodeCommit(c: Commit): Uint8Array {
  const parent = c.parent;
  const salt = c.salt;
  const size = 1 + keyLen("seq") + 9 + (salt === null ? 0 : keyLen("salt") + 1 + SALT_BYTES) + keyLen("tree") + 2 + 32 + keyLen("parent") + (parent === null ? 1 : 2 + 32);
  const buf = new Uint8Array(size);
  let p = buf.dataStart;
  store<u8>(p, salt === null ? 0xa3 : 0xa4);
  p = putKey(p + 1, "seq");
  p = putHead(p, 0, c.seq);
  if (salt !== null) {
    p = putKey(p, "salt");
    p = putBytes(p, salt.dataStart, salt.length);
  }
  p = putKey(p, "tree");
  p = putBytes(p, c.tree.dataStart, 32);
  p = putKey(p, "parent");
  if (parent === null) { store<u8>(p, 0xf6); p++; } else p = putBytes(p, parent.dataStart, 32);
  return buf.subarray(0, <i32>(p - buf.dataStart));
}

let errOut: Err = new Err("EINTERNAL", "");

/** Commits by id (immutable, like every block): the head's is read on every call. */
class CachedCommit {
  constructor(public id: Uint8Array, public commit: Commit) {}
}
let commits = new Map<u64, CachedCommit>();
const COMMITS_CACHED: i32 = 4096;

function cacheCommit(id: Uint8Array, c: Commit): void {
  if (commits.size >= COMMITS_CACHED) commits = new Map<u64, CachedCommit>();
  commits.set(key64(id), new CachedCommit(id, c));
}

function loadCommit(id: Uint8Array): Commit | null {
  const k = key64(id);
  if (commits.has(k)) {
    const c = commits.get(k);
    if (bytesEqual(c.id, id)) return c.commit;
  }
  const r = getBlock(id);
  if (!r.ok) { errOut = hostError; return null; }
  const bytes = r.bytes;
  if (bytes === null) { errOut = new Err("EINTERNAL", "commit block " + hex(id) + " is missing"); return null; }
  const d = decode(bytes);
  const m: CborMap | null = d.ok ? d.value.asMap() : null;
  if (m !== null) {
    const tree = m.getBytes("tree");
    const parent = m.get("parent");
    const seq = m.get("seq");
    const salt = m.get("salt");
    const saltBytes: Uint8Array | null = salt === null ? null : salt.asBytes();
    if (tree !== null && tree.length == 32 && parent !== null && seq !== null && seq.isUint() && (parent.isNull() || parent.asBytes() !== null)
      && (salt === null || (saltBytes !== null && saltBytes.length == SALT_BYTES))) {
      const c = new Commit(tree, parent.asBytes(), seq.asUint(), saltBytes);
      cacheCommit(id, c);
      return c;
    }
  }
  errOut = new Err("EINTERNAL", "block " + hex(id) + " is not a storage commit");
  return null;
}

class Head {
  constructor(public version: u64, public commit: Uint8Array | null, public tree: Uint8Array, public seq: u64, public salt: Uint8Array | null) {}
}

const HEAD_PREFIX: Uint8Array = Uint8Array.wrap(String.UTF8.encode("head/", false));

/** The ref of an agent's head, `head/<agent>`, as UTF-8. */
function refName(agent: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD_PREFIX.length + agent.length);
  out.set(HEAD_PREFIX);
  out.set(agent, HEAD_PREFIX.length);
  return out;
}

function loadHead(agent: Uint8Array): Head | null {
  const r = getRef(refName(agent));
  if (!r.ok) { errOut = hostError; return null; }
  const ref = r.ref;
  if (ref === null) return new Head(0, null, EMPTY_ID, 0, null);
  const c = loadCommit(ref.root);
  if (c === null) return null;
  const head = new Head(ref.version, ref.root, c.tree, c.seq, c.salt);
  rememberHead(agent, head);
  return head;
}

/**
 * The head this instance last read or wrote for each agent. A write starts from it without reading
 * the ref: if another writer moved the head meanwhile, the write's ref_cas fails (it names the
 * version it started from) and the write reads the head and starts again, so this saves a host call
 * and changes nothing else. Reads always read the ref.
 */
class KnownHead {
  constructor(public agent: Uint8Array, public head: Head) {}
}
let knownHeads = new Map<u64, KnownHead>();
const HEADS_KNOWN: i32 = 4096;

function agentKey(agent: Uint8Array): u64 {
  return siphash24(0x6d63703073746f72, 0x6167656e74686561, agent.dataStart, agent.length);
}

function knownHead(agent: Uint8Array): Head | null {
  const k = agentKey(agent);
  if (!knownHeads.has(k)) return null;
  const h = knownHeads.get(k);
  return bytesEqual(h.agent, agent) ? h.head : null;
}

function rememberHead(agent: Uint8Array, head: Head): void {
  const k = agentKey(agent);
  if (knownHeads.has(k)) {
    const h = knownHeads.get(k);
    if (bytesEqual(h.agent, agent)) { h.head = head; return; }
  }
  if (knownHeads.size >= HEADS_KNOWN) knownHeads = new Map<u64, KnownHead>();
  knownHeads.set(k, new KnownHead(agent.slice(), head));
}

function forgetHead(agent: Uint8Array): void {
  knownHeads.delete(agentKey(agent));
}

/**
 * The salt of the head's agent; a new one (random_bytes) when the agent has none yet (never
 * written, or last written before salts), kept in `fresh` so that retries reuse it.
 */
class SaltSource {
  fresh: Uint8Array | null = null;
  err: Err | null = null;
  of(agent: Uint8Array, head: Head): Uint8Array | null {
    const s = head.salt;
    if (s !== null) return s;
    if (this.fresh !== null) return this.fresh;
    const r = randomBytes(<u32>SALT_BYTES);
    if (!r.ok || r.value.length != SALT_BYTES) {
      const e = r.error;
      this.err = new Err(e === null ? "EINTERNAL" : e.code, "salting the tree of " + text(agent) + " needs " + SALT_BYTES.toString() + " random bytes (the random capability): " + (e === null ? "wrong length" : e.message));
      return null;
    }
    this.fresh = r.value;
    return r.value;
  }
}

/**
 * Write the new blocks reachable from `root`, then a commit, then move the head by ref_cas.
 * Returns null on success, or the error (ECONFLICT: the caller retries).
 */
function commitRoot(ctx: Ctx, agent: Uint8Array, head: Head, root: Node, salt: Uint8Array): Err | null {
  if (root.level == 0 && root.items.length == 0) emptyRoot(ctx); // make sure the empty leaf is written
  const pending = ctx.reachable(root);
  const c = new Commit(root.id, head.commit, head.seq + 1, salt);
  const commit = encodeCommit(c);
  const blocks = new Array<Uint8Array>(pending.length + 1);
  for (let i = 0; i < pending.length; i++) unchecked(blocks[i] = unchecked(pending[i]).bytes);
  unchecked(blocks[pending.length] = commit);
  let i = 0;
  while (i < blocks.length) {
    let n = 0;
    let bytes = 0;
    while (i + n < blocks.length && n < PUT_BLOCKS && (n == 0 || bytes + unchecked(blocks[i + n]).length <= PUT_BYTES)) {
      bytes += unchecked(blocks[i + n]).length;
      n++;
    }
    const e = putBlocks(blocks, i, i + n);
    if (e !== null) return e;
    i += n;
  }
  const id = sha256(commit);
  const version = casRef(refName(agent), head.version, id);
  if (version < 0) { forgetHead(agent); return hostError; }
  promote(ctx, pending);
  cacheCommit(id, c);
  rememberHead(agent, new Head(<u64>version, id, root.id, c.seq, salt));
  return null;
}

/** ECONFLICT for a write made against a head version that is no longer current (`expect`). */
function conflict(exp: string, agent: Uint8Array, expected: u64, found: u64): i32 {
  const message = exp + ": the head of " + text(agent) + " is at version " + found.toString() + ", not the expected version " + expected.toString() + "; the head did not move";
  setGuestError('{"code":"ECONFLICT","message":' + jsonString(message) + ',"details":{"expected":' + expected.toString() + ',"found":' + found.toString() + "}}");
  return 1;
}

// ---- reading at a root ----

/**
 * A tree root named by a caller: ENOTFOUND when absent, EINPUT when it is not a tree node.
 * `fromStore` reads the store even when the node is cached (restore must see the store as it
 * is), keeping the bytes for a re-put.
 */
function userRoot(ctx: Ctx, id: Uint8Array, what: string, fromStore: bool): Node | null {
  if (bytesEqual(id, EMPTY_ID)) return ctx.load(id);
  if (!fromStore) {
    const n = ctx.load(id);
    if (n !== null) return n;
    const e = lastError;
    if (!e.message.includes("is missing") && !e.message.startsWith("not a tree node")) { errOut = e; return null; }
  }
  const r = getBlock(id);
  if (!r.ok) { errOut = hostError; return null; }
  const bytes = r.bytes;
  if (bytes === null) { errOut = new Err("ENOTFOUND", what + " " + hex(id) + " is not in the block store"); return null; }
  const n = parseNode(bytes);
  if (n === null) { errOut = new Err("EINPUT", what + " " + hex(id) + " is not a tree node (" + lastError.message + ")"); return null; }
  n.id = id;
  n.raw = bytes;
  return n;
}

/** A block the tree at a caller's root names is gone (e.g. swept by gc): ENOTFOUND, not an internal fault. */
function missingAsNotFound(e: Err, root: Uint8Array): Err {
  if (e.code == "EINTERNAL" && e.message.includes("is missing")) return new Err("ENOTFOUND", "root " + hex(root) + " is incomplete: " + e.message);
  return e;
}

/** The root to read: the caller's `root`, else the agent's head tree; null with errOut. */
class ReadRoot {
  node: Node | null = null;
  given: bool = false;
}

function readRoot(ctx: Ctx, agent: Uint8Array, root: Uint8Array | null): ReadRoot {
  const out = new ReadRoot();
  if (root !== null) {
    out.given = true;
    out.node = userRoot(ctx, root, "root", false);
    return out;
  }
  const head = loadHead(agent);
  if (head === null) return out;
  out.node = ctx.load(head.tree);
  if (out.node === null) errOut = lastError;
  return out;
}

// ---- exports ----

/** {agent, key, root?} → bytes | null. */
export function get(): i32 {
  const input = readInput();
  let agent: Uint8Array | null = null;
  let key: Uint8Array | null = null;
  let root: Uint8Array | null = null;
  const f = fastArgs(input);
  if (f !== null && f.only(["agent", "key", "root"])) {
    agent = f.text("agent");
    key = f.text("key");
    root = f.optBytes("root");
    if (f.wrong || (root !== null && root.length != 32)) agent = null;
  }
  if (agent === null) {
    const a = Args.from(input);
    agent = agentOf(a);
    if (agent === null) return failedCode;
    key = utf8(a.text("key"));
    root = optRootArg(a, "root");
    if (a.error !== null) return a.fail();
  } else if (!agentOk(agent)) {
    return failedCode;
  }
  const ke = checkKey('"key"', key!);
  if (ke !== null) return failWith(ke);
  const ctx = new Ctx();
  const at = readRoot(ctx, agent, root);
  const node = at.node;
  if (node === null) return failWith(errOut);
  const l = lookup(ctx, node, key!);
  if (l.failed) return failWith(at.given ? missingAsNotFound(lastError, root!) : lastError);
  if (!l.found) return respond(Value.nil());
  const v = ctx.value(l.item!);
  if (v === null) return failWith(at.given ? missingAsNotFound(lastError, root!) : lastError);
  return respondBytes(encodeBytes(v));
}

function leafItem(ctx: Ctx, key: Uint8Array, value: Uint8Array): Item {
  if (value.length <= INLINE_MAX) return new Item(key, value);
  return new Item(key, ctx.addValue(value), true, <u32>value.length);
}

/** What runEdit did. */
class Outcome {
  root: Uint8Array = new Uint8Array(0);
  existed: bool = false;
  err: Err | null = null;
  /** A conflict with `expect`: the version found. */
  conflict: bool = false;
  found: u64 = 0;
}

/** The kinds of edit an export makes. */
const enum EditKind { Put, Delete, Apply }

/**
 * Edit the agent's tree with level-0 ops, commit, retry on ECONFLICT. With `expect` (≥ 0) the
 * head must be at that version: no retry, and a conflict is reported before anything is written
 * (or, when the head moves between the read and the ref_cas, by the ref_cas).
 */
function runEdit(ctx: Ctx, agent: Uint8Array, kind: EditKind, key: Uint8Array, value: Uint8Array, delta: Array<Op>, expect: i64): Outcome {
  const out = new Outcome();
  const salts = new SaltSource();
  const attempts = expect >= 0 ? 1 : RETRIES;
  for (let attempt = 0; attempt < attempts; attempt++) {
    // The first attempt starts from the head this instance knows, if any (see KnownHead); any
    // answer that does not end in a successful ref_cas is then checked against the ref itself.
    let head = attempt == 0 ? knownHead(agent) : null;
    const known = head !== null;
    if (head === null) head = loadHead(agent);
    if (head === null) { out.err = errOut; return out; }
    if (expect >= 0 && head.version != <u64>expect) {
      if (known) { forgetHead(agent); attempt--; continue; }
      out.conflict = true;
      out.found = head.version;
      return out;
    }
    let ops: Array<Op>;
    if (kind == EditKind.Put) {
      ops = [new Op(key, key, [leafItem(ctx, key, value)])];
    } else if (kind == EditKind.Delete) {
      const current = ctx.load(head.tree);
      if (current === null) { out.err = lastError; return out; }
      const l = lookup(ctx, current, key);
      if (l.failed) { out.err = lastError; return out; }
      out.existed = l.found;
      if (!l.found) {
        if (known) { forgetHead(agent); attempt--; continue; }
        out.root = head.tree;
        return out;
      }
      ops = [new Op(key, key, new Array<Item>())];
    } else {
      ops = delta;
    }
    const salt = salts.of(agent, head);
    if (salt === null) { out.err = salts.err; return out; }
    useSalt(salt);
    const root = edit(ctx, head.tree, ops);
    if (root === null) { out.err = lastError; return out; }
    out.root = root.id;
    if (bytesEqual(root.id, head.tree) && head.commit !== null) { // nothing changed
      if (known) { forgetHead(agent); attempt--; continue; }
      return out;
    }
    const e = commitRoot(ctx, agent, head, root, salt);
    if (e === null) return out;
    if (e.code != "ECONFLICT") { out.err = e; return out; }
    if (expect >= 0) {
      const now = getRef(refName(agent));
      out.conflict = true;
      out.found = now.ok && now.ref !== null ? now.ref!.version : 0;
      return out;
    }
  }
  out.err = new Err("ECONFLICT", "the head of " + text(agent) + " kept moving; gave up after " + RETRIES.toString() + " attempts");
  return out;
}

/** Inputs this large first empty the caches, so the call has the memory it needs. */
const LARGE_INPUT: i32 = 1 << 20;

/** {agent, key, value: bytes} → {root}. */
export function put(): i32 {
  const input = readInput();
  if (input.length >= LARGE_INPUT) clearCache();
  let agent: Uint8Array | null = null;
  let key: Uint8Array | null = null;
  let value: Uint8Array | null = null;
  const f = fastArgs(input);
  if (f !== null && f.only(["agent", "key", "value"])) {
    agent = f.text("agent");
    key = f.text("key");
    value = f.bytes("value");
    if (f.wrong) agent = null;
  }
  if (agent === null) {
    const a = Args.from(input);
    agent = agentOf(a);
    if (agent === null) return failedCode;
    key = utf8(a.text("key"));
    value = a.bytes("value");
    if (a.error !== null) return a.fail();
  } else if (!agentOk(agent)) {
    return failedCode;
  }
  let e = checkKey('"key"', key!);
  if (e === null) e = checkValue('"value"', value!);
  if (e !== null) return failWith(e);
  const o = runEdit(new Ctx(), agent, EditKind.Put, key!, value!, [], -1);
  if (o.err !== null) return failWith(o.err!);
  return respondBytes(encodeRootAnswer(o.root));
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
  const o = runEdit(new Ctx(), agent, EditKind.Delete, key, new Uint8Array(0), [], -1);
  if (o.err !== null) return failWith(o.err!);
  return respond(Value.map().set("root", Value.bytes(o.root)).set("existed", Value.bool(o.existed)));
}
export { del as delete };

function startsWith(k: Uint8Array, p: Uint8Array): bool {
  if (k.length < p.length) return false;
  return memory.compare(k.dataStart, p.dataStart, p.length) == 0;
}

/** {agent, prefix?, limit?, cursor?, root?} → {entries: [[key, value]...], cursor: text | null}. */
export function list(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const prefix = utf8(a.textOr("prefix", ""));
  const limit = a.uintOr("limit", 100);
  const after = a.optText("cursor");
  const rootId = optRootArg(a, "root");
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
  const ctx = new Ctx();
  const at = readRoot(ctx, agent, rootId);
  const root = at.node;
  if (root === null) return failWith(errOut);
  const scan = new Scan(ctx, root, from);
  if (scan.failed) return failWith(at.given ? missingAsNotFound(lastError, rootId!) : lastError);
  const entries = Value.array();
  let bytes = 0;
  let lastKey: Uint8Array | null = null;
  let more = false;
  while (true) {
    const it = scan.next();
    if (it === null) { if (scan.failed) return failWith(at.given ? missingAsNotFound(lastError, rootId!) : lastError); break; }
    if (!startsWith(it.key, prefix)) break;
    if (<u64>entries.length >= limit || bytes >= LIST_BYTES) { more = true; break; }
    const v = ctx.value(it);
    if (v === null) return failWith(at.given ? missingAsNotFound(lastError, rootId!) : lastError);
    bytes += v.length + it.key.length;
    entries.push(Value.array().push(Value.text(text(it.key))).push(Value.bytes(v)));
    lastKey = it.key;
  }
  return respond(Value.map().set("entries", entries)
    .set("cursor", more && lastKey !== null ? Value.text(text(lastKey!)) : Value.nil()));
}

/** {agent} → {root, version}: the current head (a snapshot is its root id). */
export function snapshot(): i32 {
  const input = readInput();
  let agent: Uint8Array | null = null;
  const f = fastArgs(input);
  if (f !== null && f.only(["agent"])) {
    agent = f.text("agent");
    if (f.wrong) agent = null;
  }
  if (agent === null) {
    agent = agentOf(Args.from(input));
    if (agent === null) return failedCode;
  } else if (!agentOk(agent)) {
    return failedCode;
  }
  const head = loadHead(agent);
  if (head === null) return failWith(errOut);
  return respond(Value.map().set("root", Value.bytes(head.tree)).set("version", Value.uint(head.version)));
}

/** {agent, root} → {root}: the head moves to an existing root (a new version, whose parent is the old head). */
export function restore(): i32 {
  const a = readArgs();
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const id = rootArg(a, "root");
  if (a.error !== null) return a.fail();
  const ctx = new Ctx();
  const root = userRoot(ctx, id!, "root", true);
  if (root === null) return failWith(errOut);
  const salts = new SaltSource();
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
      // The re-put walk may read a whole tree: give it the memory the caches hold.
      clearCache();
      const current = ctx.load(head.tree);
      if (current === null) return failWith(lastError);
      if (treeDiff(ctx, current, root, true) === null) return failWith(missingAsNotFound(lastError, id!));
    }
    const salt = salts.of(agent, head);
    if (salt === null) return failWith(salts.err!);
    const e = commitRoot(ctx, agent, head, root, salt);
    if (e === null) return respond(Value.map().set("root", Value.bytes(root.id)));
    if (e.code != "ECONFLICT") return failWith(e);
    if (attempt == RETRIES - 1) return fail("ECONFLICT", "the head of " + text(agent) + " kept moving");
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

/** {rootA, rootB} → {puts: [[key, value]...], deletes: [key...]}: what turns A into B. */
export function diffRoots(): i32 {
  const a = readArgs();
  const ida = rootArg(a, "rootA");
  const idb = rootArg(a, "rootB");
  if (a.error !== null) return a.fail();
  // An answer can approach the 4 MiB output cap, with its value tree and encoding besides: give it
  // the memory the caches hold.
  clearCache();
  const ctx = new Ctx();
  const ra = userRoot(ctx, ida!, "rootA", false);
  if (ra === null) return failWith(errOut);
  const rb = userRoot(ctx, idb!, "rootB", false);
  if (rb === null) return failWith(errOut);
  const changes = treeDiff(ctx, ra, rb);
  if (changes === null) return failWith(lastError);
  const puts = Value.array();
  const deletes = Value.array();
  for (let i = 0; i < changes.length; i++) {
    const c: Change = unchecked(changes[i]);
    const it = c.item;
    if (it === null) { deletes.push(Value.text(text(c.key))); continue; }
    const v = ctx.value(it);
    if (v === null) return failWith(lastError);
    puts.push(Value.array().push(Value.text(text(c.key))).push(Value.bytes(v)));
  }
  return respond(Value.map().set("puts", puts).set("deletes", deletes));
}
export { diffRoots as diff };

function opOrder(x: Op, y: Op): i32 { return compareBytes(x.lo, y.lo); }

/** {agent, delta: {puts?: [[key, value]...], deletes?: [key...]}, expect?: uint} → {root}. */
export function apply(): i32 {
  const input = readInput();
  if (input.length >= LARGE_INPUT) clearCache();
  const a = Args.from(input);
  const agent = agentOf(a);
  if (agent === null) return failedCode;
  const delta = a.map("delta");
  const hasExpect = a.has("expect") && !a.value("expect").isNull();
  const expect = a.uintOr("expect", 0);
  if (a.error !== null) return a.fail();
  if (hasExpect && expect > <u64>i64.MAX_VALUE) return fail("EINPUT", '"expect" is out of range');
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
  const o = runEdit(ctx, agent, EditKind.Apply, new Uint8Array(0), new Uint8Array(0), ops, hasExpect ? <i64>expect : -1);
  if (o.conflict) return conflict("apply", agent, expect, o.found);
  if (o.err !== null) return failWith(o.err!);
  return respondBytes(encodeRootAnswer(o.root));
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
  const r = getRef(refName(agent));
  if (!r.ok) return failWith(hostError);
  let id: Uint8Array | null = r.ref === null ? null : r.ref!.root;
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

/** The chain, read from the store (gc must see the store as it is: a missing commit fails the mark). */
function walkChain(id: Uint8Array | null, limit: u64): Chain | null {
  const chain = new Chain();
  while (id !== null && (limit == 0 || <u64>chain.ids.length < limit)) {
    commits.delete(key64(id!)); // read it again: it may be gone
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
 * so every snapshot root in the kept history, are unchanged; so is each commit's salt). Returns
 * whether history was dropped.
 */
class Truncation {
  dropped: bool = false;
  err: Err | null = null;
}

function truncate(agent: Uint8Array, keep: u64): Truncation {
  const out = new Truncation();
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const r = getRef(refName(agent));
    if (!r.ok) { out.err = hostError; return out; }
    const ref = r.ref;
    if (ref === null) return out;
    const chain = walkChain(ref.root, keep);
    if (chain === null) { out.err = errOut; return out; }
    const n = chain.commits.length;
    if (<u64>n < keep || unchecked(chain.commits[n - 1]).parent === null) return out;
    const blocks = new Array<Uint8Array>();
    let parent: Uint8Array | null = null;
    for (let i = n - 1; i >= 0; i--) {
      const c = unchecked(chain.commits[i]);
      const bytes = encodeCommit(new Commit(c.tree, parent, c.seq, c.salt));
      blocks.push(bytes);
      parent = sha256(bytes);
    }
    for (let i = 0; i < blocks.length; i += PUT_BLOCKS) {
      const e = putBlocks(blocks, i, min(i + PUT_BLOCKS, blocks.length));
      if (e !== null) { out.err = e; return out; }
    }
    if (casRef(refName(agent), ref.version, parent!) >= 0) { forgetHead(agent); out.dropped = true; return out; }
    if (hostError.code != "ECONFLICT") { out.err = hostError; return out; }
  }
  out.err = new Err("ECONFLICT", "the head of " + text(agent) + " kept moving; gave up dropping its history after " + RETRIES.toString() + " attempts");
  return out;
}

function idOrder(a: Uint8Array, b: Uint8Array): i32 { return compareBytes(a, b); }

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
  // The mark holds every live id of the agent in memory: give it the memory the caches hold.
  clearCache();
  let dropped = false;
  if (hasKeep) {
    const t = truncate(agent, keep);
    if (t.err !== null) return failWith(t.err!);
    dropped = t.dropped;
  }
  const r = getRef(refName(agent));
  if (!r.ok) return failWith(hostError);
  const seen = new IdSet();
  const ids = new Array<Uint8Array>();
  let commitCount: u64 = 0;
  if (r.ref !== null) {
    const chain = walkChain(r.ref!.root, 0);
    if (chain === null) return failWith(errOut);
    commitCount = <u64>chain.ids.length;
    for (let i = 0; i < chain.ids.length; i++) {
      const cid = unchecked(chain.ids[i]);
      if (seen.add(cid)) ids.push(cid);
      if (!markTree(unchecked(chain.commits[i]).tree, seen, ids)) return failWith(lastError);
    }
  }
  ids.sort(idOrder);
  let start = 0;
  if (after !== null) while (start < ids.length && compareBytes(unchecked(ids[start]), after!) <= 0) start++;
  const end = <i32>min(<u64>ids.length, <u64>start + limit);
  const live = new Uint8Array((end - start) * 32);
  for (let i = start; i < end; i++) live.set(unchecked(ids[i]), (i - start) * 32);
  return respond(Value.map()
    .set("live", Value.bytes(live))
    .set("cursor", end < ids.length && end > start ? Value.bytes(unchecked(ids[end - 1])) : Value.nil())
    .set("blocks", Value.uint(<u64>ids.length))
    .set("commits", Value.uint(commitCount))
    .set("dropped", Value.bool(dropped)));
}
