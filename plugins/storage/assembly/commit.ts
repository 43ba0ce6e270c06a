/**
 * Commits: the block `{seq, salt?, tree, parent}` an agent's head points at (README.md "Block and node format"),
 * encoded by hand, and read through a cache by id (commits are immutable, like every block).
 * Reading a commit, a head or a caller's root leaves its error in `errOut` when it fails
 * (AssemblyScript has no exceptions).
 */
import { CborMap, Err, decode } from "@mcp0/abi/as";
import { key64 } from "./cache";
import { getBlock, hostError, keyLen, putBytes, putHead, putKey } from "./hostio";
import { bytesEqual, hex } from "./tree";

/** Bytes of an agent's salt (SipHash-2-4's key). */
export const SALT_BYTES: i32 = 16;

export class Commit {
  constructor(public tree: Uint8Array, public parent: Uint8Array | null, public seq: u64, public salt: Uint8Array | null) {}
}

/**
 * `{seq, salt?, tree, parent}` (keys in deterministic order: by their encoding, so by length,
 * then bytes), written by hand: it is on every write's path.
 */
export function encodeCommit(c: Commit): Uint8Array {
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

/** The error of the last commit, head or root read that returned null. */
export let errOut: Err = new Err("EINTERNAL", "");

/** Commits by id (immutable, like every block): the head's is read on every call. */
class CachedCommit {
  constructor(public id: Uint8Array, public commit: Commit) {}
}
export let commits = new Map<u64, CachedCommit>();
const COMMITS_CACHED: i32 = 4096;

export function cacheCommit(id: Uint8Array, c: Commit): void {
  if (commits.size >= COMMITS_CACHED) commits = new Map<u64, CachedCommit>();
  commits.set(key64(id), new CachedCommit(id, c));
}

export function loadCommit(id: Uint8Array): Commit | null {
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

/** Sets `errOut` (from the modules that read heads and roots: an import cannot be assigned). */
export function setErrOut(e: Err): void {
  errOut = e;
}
