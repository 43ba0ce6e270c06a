/**
 * mcp0.storage ("HeapBT"): each agent's state is a hierarchical key space kept in a
 * history-independent, content-addressed prolly tree (tree.ts). The head of an agent is the ref
 * `head/<agent>`, pointing at a commit block {tree, parent, seq, salt} (commit.ts, head.ts); it
 * moves only by ref_cas, after every new block of the operation has been written (write.ts). The
 * salt (16 secret random bytes, drawn at the agent's first write and inherited by every later
 * commit) keys the boundary hash, so an agent cannot choose keys that keep its tree from splitting.
 *
 * This file holds the exports: each reads its request (args.ts), then reads at a root (read.ts),
 * writes (write.ts), walks history (history.ts) or marks for gc (gc.ts).
 */
import {
  Args, CborArray, Value, compareBytes, fail, failWith, readArgs, readInput, respond, respondBytes,
} from "@mcp0/abi/as";
import { agentOf, agentOk, checkKey, checkValue, failedCode, optRootArg, rootArg, text, utf8 } from "./args";
import { clearCache } from "./cache";
import { errOut, loadCommit } from "./commit";
import { GC_PAGE, MAX_KEEP, idOrder, truncate } from "./gc";
import { SaltSource, loadHead, refName } from "./head";
import { historyHas, walkChain } from "./history";
import { encodeBytes, encodeRootAnswer, getRef, hostError } from "./hostio";
import { fastArgs } from "./input";
import { missingAsNotFound, readRoot, userRoot } from "./read";
import { Change, Ctx, IdSet, Item, Op, Scan, bytesEqual, diff as treeDiff, lastError, lookup, markTree } from "./tree";
import { EditKind, RETRIES, commitRoot, conflict, leafItem, runEdit } from "./write";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

const MAX_LIST: u64 = 1000;
/** A list page stops after this many value bytes (outputs are capped at 4 MiB by the kernel). */
const LIST_BYTES: i32 = 2 << 20;
const MAX_HISTORY: u64 = 1000;
const MAX_DELTA: i32 = 100000;

export function mcp0_init(): i32 { return 0; }
export function mcp0_stop(): i32 { return 0; }

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
