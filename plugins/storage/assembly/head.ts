/**
 * An agent's head: the ref `head/<agent>` and the commit it points at, the heads this instance
 * knows (so a write can start without reading the ref), and the agent's salt.
 */
import { Err, randomBytes } from "@mcp0/abi/as";
import { text } from "./args";
import { SALT_BYTES, loadCommit, setErrOut } from "./commit";
import { getRef, hostError } from "./hostio";
import { siphash24 } from "./siphash";
import { EMPTY_ID, bytesEqual } from "./tree";

export class Head {
  constructor(public version: u64, public commit: Uint8Array | null, public tree: Uint8Array, public seq: u64, public salt: Uint8Array | null) {}
}

const HEAD_PREFIX: Uint8Array = Uint8Array.wrap(String.UTF8.encode("head/", false));

/** The ref of an agent's head, `head/<agent>`, as UTF-8. */
export function refName(agent: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD_PREFIX.length + agent.length);
  out.set(HEAD_PREFIX);
  out.set(agent, HEAD_PREFIX.length);
  return out;
}

export function loadHead(agent: Uint8Array): Head | null {
  const r = getRef(refName(agent));
  if (!r.ok) { setErrOut(hostError); return null; }
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

export function knownHead(agent: Uint8Array): Head | null {
  const k = agentKey(agent);
  if (!knownHeads.has(k)) return null;
  const h = knownHeads.get(k);
  return bytesEqual(h.agent, agent) ? h.head : null;
}

export function rememberHead(agent: Uint8Array, head: Head): void {
  const k = agentKey(agent);
  if (knownHeads.has(k)) {
    const h = knownHeads.get(k);
    if (bytesEqual(h.agent, agent)) { h.head = head; return; }
  }
  if (knownHeads.size >= HEADS_KNOWN) knownHeads = new Map<u64, KnownHead>();
  knownHeads.set(k, new KnownHead(agent.slice(), head));
}

export function forgetHead(agent: Uint8Array): void {
  knownHeads.delete(agentKey(agent));
}

/**
 * The salt of the head's agent; a new one (random_bytes) when the agent has none yet (never
 * written, or last written before salts), kept in `fresh` so that retries reuse it.
 */
export class SaltSource {
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
