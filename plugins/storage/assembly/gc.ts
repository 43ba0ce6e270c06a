/**
 * gc's retention: dropping an agent's history past its newest commits (the export, which then
 * marks what the head reaches, is in index.ts; the host sweeps).
 */
import { Err, compareBytes } from "@mcp0/abi/as";
import { text } from "./args";
import { Commit, encodeCommit, errOut } from "./commit";
import { forgetHead, refName } from "./head";
import { walkChain } from "./history";
import { casRef, getRef, hostError, putBlocks } from "./hostio";
import { sha256 } from "./sha256";
import { PUT_BLOCKS, RETRIES } from "./write";

/** Ids per gc answer: 65,536 × 32 bytes = 2 MiB (outputs are capped at 4 MiB). */
export const GC_PAGE: u64 = 65536;
/** Commits a retention policy may keep. */
export const MAX_KEEP: u64 = 1000000;

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

export function truncate(agent: Uint8Array, keep: u64): Truncation {
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

export function idOrder(a: Uint8Array, b: Uint8Array): i32 { return compareBytes(a, b); }
