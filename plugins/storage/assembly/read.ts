/**
 * Reading at a root: the root a caller names (checked to be a tree node in the store), or the
 * agent's head tree.
 */
import { Err } from "@mcp0/abi/as";
import { setErrOut } from "./commit";
import { loadHead } from "./head";
import { getBlock, hostError } from "./hostio";
import { Ctx, EMPTY_ID, Node, bytesEqual, hex, lastError, parseNode } from "./tree";

/**
 * A tree root named by a caller: ENOTFOUND when absent, EINPUT when it is not a tree node.
 * `fromStore` reads the store even when the node is cached (restore must see the store as it
 * is), keeping the bytes for a re-put.
 */
export function userRoot(ctx: Ctx, id: Uint8Array, what: string, fromStore: bool): Node | null {
  if (bytesEqual(id, EMPTY_ID)) return ctx.load(id);
  if (!fromStore) {
    const n = ctx.load(id);
    if (n !== null) return n;
    const e = lastError;
    if (!e.message.includes("is missing") && !e.message.startsWith("not a tree node")) { setErrOut(e); return null; }
  }
  const r = getBlock(id);
  if (!r.ok) { setErrOut(hostError); return null; }
  const bytes = r.bytes;
  if (bytes === null) { setErrOut(new Err("ENOTFOUND", what + " " + hex(id) + " is not in the block store")); return null; }
  const n = parseNode(bytes);
  if (n === null) { setErrOut(new Err("EINPUT", what + " " + hex(id) + " is not a tree node (" + lastError.message + ")")); return null; }
  n.id = id;
  n.raw = bytes;
  return n;
}

/** A block the tree at a caller's root names is gone (e.g. swept by gc): ENOTFOUND, not an internal fault. */
export function missingAsNotFound(e: Err, root: Uint8Array): Err {
  if (e.code == "EINTERNAL" && e.message.includes("is missing")) return new Err("ENOTFOUND", "root " + hex(root) + " is incomplete: " + e.message);
  return e;
}

/** The root to read: the caller's `root`, else the agent's head tree; null with errOut. */
class ReadRoot {
  node: Node | null = null;
  given: bool = false;
}

export function readRoot(ctx: Ctx, agent: Uint8Array, root: Uint8Array | null): ReadRoot {
  const out = new ReadRoot();
  if (root !== null) {
    out.given = true;
    out.node = userRoot(ctx, root, "root", false);
    return out;
  }
  const head = loadHead(agent);
  if (head === null) return out;
  out.node = ctx.load(head.tree);
  if (out.node === null) setErrOut(lastError);
  return out;
}
