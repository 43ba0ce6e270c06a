/**
 * An agent's history: the chain of commits from its head back along `parent`.
 */
import { key64 } from "./cache";
import { Commit, commits, loadCommit } from "./commit";
import { bytesEqual } from "./tree";

/** Commits of history `restore` looks through for its root before it re-puts the tree. */
const RESTORE_LOOKBACK: i32 = 1000;

/** 1 when `tree` is the tree of one of the newest RESTORE_LOOKBACK commits from `commit`, 0 if not, -1 on failure (errOut). */
export function historyHas(commit: Uint8Array | null, tree: Uint8Array): i32 {
  let id = commit;
  for (let i = 0; id !== null && i < RESTORE_LOOKBACK; i++) {
    const c = loadCommit(id!);
    if (c === null) return -1;
    if (bytesEqual(c.tree, tree)) return 1;
    id = c.parent;
  }
  return 0;
}

/** The commits from `id` back along `parent`, at most `limit` (0: all); null with errOut on failure. */
export class Chain {
  ids: Array<Uint8Array> = new Array<Uint8Array>();
  commits: Array<Commit> = new Array<Commit>();
}

/** The chain, read from the store (gc must see the store as it is: a missing commit fails the mark). */
export function walkChain(id: Uint8Array | null, limit: u64): Chain | null {
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
