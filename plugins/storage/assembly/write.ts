/**
 * Writing an agent's state: an edit of its tree made into a new commit, whose blocks are written
 * (children before parents) before the head moves by ref_cas, retried when another writer moved
 * the head first.
 */
import { Err, jsonString, setError as setGuestError } from "@mcp0/abi/as";
import { text } from "./args";
import { Commit, cacheCommit, encodeCommit, errOut } from "./commit";
import { Head, SaltSource, forgetHead, knownHead, loadHead, refName, rememberHead } from "./head";
import { casRef, getRef, hostError, putBlocks } from "./hostio";
import { sha256 } from "./sha256";
import { Ctx, INLINE_MAX, Item, Node, Op, bytesEqual, edit, emptyRoot, lastError, lookup, promote, useSalt } from "./tree";

/** ref_cas attempts before ECONFLICT is reported. */
export const RETRIES: i32 = 5;
/** Per blocks_put call: the ABI's 1,024 blocks, and a bound on bytes to keep host memory modest. */
export const PUT_BLOCKS: i32 = 1024;
const PUT_BYTES: i32 = 16 << 20;

/**
 * Write the new blocks reachable from `root`, then a commit, then move the head by ref_cas.
 * Returns null on success, or the error (ECONFLICT: the caller retries).
 */
export function commitRoot(ctx: Ctx, agent: Uint8Array, head: Head, root: Node, salt: Uint8Array): Err | null {
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
export function conflict(exp: string, agent: Uint8Array, expected: u64, found: u64): i32 {
  const message = exp + ": the head of " + text(agent) + " is at version " + found.toString() + ", not the expected version " + expected.toString() + "; the head did not move";
  setGuestError('{"code":"ECONFLICT","message":' + jsonString(message) + ',"details":{"expected":' + expected.toString() + ',"found":' + found.toString() + "}}");
  return 1;
}

export function leafItem(ctx: Ctx, key: Uint8Array, value: Uint8Array): Item {
  if (value.length <= INLINE_MAX) return new Item(key, value);
  return new Item(key, ctx.addValue(value), true, <u32>value.length);
}

/** What runEdit did. */
export class Outcome {
  root: Uint8Array = new Uint8Array(0);
  existed: bool = false;
  err: Err | null = null;
  /** A conflict with `expect`: the version found. */
  conflict: bool = false;
  found: u64 = 0;
}

/** The kinds of edit an export makes. */
export const enum EditKind { Put, Delete, Apply }

/**
 * Edit the agent's tree with level-0 ops, commit, retry on ECONFLICT. With `expect` (≥ 0) the
 * head must be at that version: no retry, and a conflict is reported before anything is written
 * (or, when the head moves between the read and the ref_cas, by the ref_cas).
 */
export function runEdit(ctx: Ctx, agent: Uint8Array, kind: EditKind, key: Uint8Array, value: Uint8Array, delta: Array<Op>, expect: i64): Outcome {
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
