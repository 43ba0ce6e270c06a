/**
 * Leases: one node runs an agent at a time. Several processes may open one store (two shells on
 * `./data`, nodes on one MongoDB); each agent is run only by the node that holds its lease.
 *
 * Two records in the store, both in the node's namespace (`mcp0.node`):
 *
 * - the **lease** of an agent is the ref `lease/<agent id>`. Its root names the holder (the node's
 *   16-byte id; 16 zero bytes once released) and its version is the **fencing token**: every
 *   acquisition (and release) moves it by compare-and-swap, the one atomic step every store offers
 *   (LMDB, memory, and MongoDB, where a ref version is a document inserted under a unique `_id`, so
 *   it is atomic on FerretDB too). A node holds an agent while the ref still names it at the token
 *   it acquired; one that finds another token has lost the agent.
 * - the **heartbeat** of a node is the kv entry `node/<node id>`: `{node, pid, host, started,
 *   expires}`, written by that node alone (so a plain put), at start and every `renewMs`. A lease
 *   is live while its holder's heartbeat has not expired; a node takes over an agent whose holder's
 *   heartbeat expired (or is gone), never one whose holder is alive. Renewing one record per node,
 *   not one per agent, keeps a MongoDB ref from growing a version every renewal.
 *
 * Expiry compares the heartbeat's `expires` with the reader's clock, so nodes on several hosts need
 * clocks that agree to well within `ttlMs`.
 *
 * A holder that died on this machine (`kill -9`, a crash) need not be waited out: a heartbeat with
 * this host name and this kernel's boot id (Linux) whose pid no longer exists is dead, as git treats
 * a `gc.pid` of this host whose process is gone. A reused pid only makes a node wait the ttl. Two
 * containers given the same host name on one kernel, in separate pid namespaces, would see each
 * other's live holders as dead: give nodes that share a store distinct host names.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { CallError, Mcp0Error, UsageError, decodeCbor, encodeCbor } from '@mcp0/abi';
import type { Store } from '../store/index.js';
import { NODE_NAMESPACE } from './records.js';

/**
 * `NodeOptions.lease`: how long a node's claim on its agents lasts and the clock it is judged by.
 * @example
 * await Node.start({ distribution, store, lease: { ttlMs: 10_000, now: () => fakeTime } })
 */
export interface LeaseOptions {
  /** How long a heartbeat holds the node's leases without renewal, in ms (default 30 s). */
  ttlMs?: number;
  /** How often the node renews its heartbeat, in ms (default a third of `ttlMs`). */
  renewMs?: number;
  /** The clock (ms since the epoch) expiry is judged by (default `Date.now`): tests inject one. */
  now?: () => number;
}

/**
 * Who holds an agent's lease, as a refusal names it.
 * @example
 * const r = node.agents.refused().find((x) => x.code === 'EBUSY') // r.holder: { node, pid, host, expires, token }
 */
export interface LeaseHolder {
  /** The holder's node id (32 hex digits). */
  node: string;
  /** Its process id and host name; 0 and '' when its heartbeat is unreadable. */
  pid: number;
  host: string;
  /** When its heartbeat expires (ms since the epoch); the agent can be taken over after that. */
  expires: number;
  /** The lease's fencing token (its ref version). */
  token: number;
}

/** Leases unless told otherwise: a 30 s claim, renewed every 10 s. */
export const LEASE_DEFAULTS = { ttlMs: 30_000 } as const;

interface Heartbeat {
  node: string;
  pid: number;
  host: string;
  /** The kernel's boot id (Linux; '' elsewhere): a pid means something only on the same boot. */
  boot: string;
  started: number;
  expires: number;
}

/** This kernel's boot id, read once; '' where there is none (then no holder is judged dead by its pid). */
const BOOT_ID = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
})();

/** Whether `beat` is a node of this machine and boot whose process is gone. */
function diedHere(beat: Heartbeat): boolean {
  if (beat.pid <= 0 || BOOT_ID === '' || beat.boot !== BOOT_ID || beat.host !== hostname()) return false;
  try {
    process.kill(beat.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: it exists, another user's
  }
}

const FREE = new Uint8Array(16);
/** Swaps lost in a row before a lease counts as busy rather than about to be taken. */
const CONTENDED_AFTER = 8;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isFree = (root: Uint8Array) => root.every((b) => b === 0);
const leaseName = (agent: string) => `lease/${agent}`;
const beatKey = (node: string) => `node/${node}`;

/**
 * A lease refusal's words: who holds the agent and until when.
 * @example
 * leaseText(holder) // 'node 9f2c…: pid 4242 on host build-7, lease token 3, its heartbeat valid until 2026-12-07T06:30:00.000Z'
 */
export function leaseText(h: LeaseHolder): string {
  if (h.node === '') return `its lease changed hands at every attempt to take it (lease token ${h.token}): try again`;
  const who = h.pid > 0 ? `pid ${h.pid} on host ${h.host || '(unknown)'}` : 'a node whose heartbeat is being written';
  const until = h.expires > 0 ? `its heartbeat valid until ${new Date(h.expires).toISOString()}` : 'no heartbeat yet';
  return `node ${h.node}: ${who}, lease token ${h.token}, ${until}`;
}

/**
 * The leases of one node over one store.
 * @example
 * const leases = new NodeLeases(store)
 * await leases.start()
 * const got = await leases.acquire('agent-1') // { token: 1 } or { holder: {...} }
 * await leases.stop()                          // releases them all
 */
export class NodeLeases {
  /** This node's id: 32 hex digits, new for every node (every `Node.start`). */
  readonly id: string;
  readonly #idBytes: Uint8Array;
  readonly #store: Store;
  readonly #ttl: number;
  readonly #renew: number;
  readonly #now: () => number;
  /** The agents this node holds, with the token each was acquired at. */
  readonly #held = new Map<string, number>();
  #expires = 0;
  #started = 0;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(store: Store, options: LeaseOptions = {}) {
    const ttl = options.ttlMs ?? LEASE_DEFAULTS.ttlMs;
    const renew = options.renewMs ?? Math.max(1, Math.floor(ttl / 3));
    for (const [name, v] of [
      ['ttlMs', ttl],
      ['renewMs', renew],
    ] as const) {
      if (!Number.isSafeInteger(v) || v <= 0)
        throw new UsageError('EUSAGE', `lease.${name}: expected a positive integer of ms, got ${String(v)}`, { [name]: v });
    }
    if (renew >= ttl)
      throw new UsageError('EUSAGE', `lease.renewMs (${renew}) must be shorter than lease.ttlMs (${ttl}), or the heartbeat lapses between renewals`);
    this.#store = store;
    this.#ttl = ttl;
    this.#renew = renew;
    this.#now = options.now ?? Date.now;
    this.#idBytes = new Uint8Array(randomBytes(16));
    this.id = hex(this.#idBytes);
  }

  /**
   * Writes the heartbeat and renews it every `renewMs` on an unref'd timer (it never keeps the
   * process alive). Heartbeats of nodes that expired are removed on the way.
   * @example
   * await leases.start()
   */
  async start(): Promise<void> {
    this.#started = this.#now();
    await this.#beat();
    await this.#sweepDead().catch(() => undefined);
    this.#timer = setInterval(() => {
      // A failed renewal is tried again at the next tick; if they keep failing the heartbeat
      // lapses, another node may take the agents over, and this one learns it at its next check.
      this.#beating ??= this.#beat()
        .catch(() => undefined)
        .finally(() => (this.#beating = undefined));
    }, this.#renew);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const expires = this.#now() + this.#ttl;
    const beat: Heartbeat = { node: this.id, pid: process.pid, host: hostname(), boot: BOOT_ID, started: this.#started, expires };
    await this.#store.kv.put(NODE_NAMESPACE, beatKey(this.id), encodeCbor(beat));
    this.#expires = expires;
  }

  /** Removes the heartbeats of nodes that expired a ttl ago or more, or died here: they hold nothing. */
  async #sweepDead(): Promise<void> {
    const page = await this.#store.kv.scan(NODE_NAMESPACE, 'node/', 1000);
    for (const [key, value] of page) {
      const beat = parseBeat(value);
      if (beat && beat.node !== this.id && (beat.expires + this.#ttl < this.#now() || diedHere(beat))) await this.#store.kv.delete(NODE_NAMESPACE, key);
    }
  }

  async #heartbeat(node: string): Promise<Heartbeat | undefined> {
    const bytes = await this.#store.kv.get(NODE_NAMESPACE, beatKey(node));
    return bytes === undefined ? undefined : parseBeat(bytes);
  }

  async #holder(node: string, token: number): Promise<LeaseHolder> {
    const beat = await this.#heartbeat(node).catch(() => undefined);
    return { node, pid: beat?.pid ?? 0, host: beat?.host ?? '', expires: beat?.expires ?? 0, token };
  }

  /**
   * Takes `agent`'s lease: when it is free, when this node holds it, or when its holder's heartbeat
   * has expired or its process died on this machine (a takeover). Otherwise answers who holds it. The token is the lease's new version.
   * @example
   * const got = await leases.acquire('agent-1')
   * if ('holder' in got) throw new CallError('EBUSY', leaseText(got.holder))
   */
  async acquire(agent: string): Promise<{ token: number } | { holder: LeaseHolder }> {
    const name = leaseName(agent);
    for (let attempt = 0; ; attempt++) {
      const ref = await this.#store.blocks.refGet(NODE_NAMESPACE, name);
      const version = ref?.version ?? 0;
      if (ref && !isFree(ref.root)) {
        const node = hex(ref.root);
        if (node === this.id && this.#held.get(agent) === version) return { token: version };
        const beat = node === this.id ? undefined : await this.#heartbeat(node);
        if (beat && beat.expires > this.#now() && !diedHere(beat)) return { holder: await this.#holder(node, version) };
      }
      try {
        const token = await this.#store.blocks.refCas(NODE_NAMESPACE, name, version, this.#idBytes);
        this.#held.set(agent, token);
        return { token };
      } catch (e) {
        // Another node moved the lease between the read and the swap: read it again. Each conflict
        // is another node's progress; a lease that keeps changing hands (nodes starting and
        // stopping in a tight loop) is busy, and the caller is told so as for a live holder.
        if (!(e instanceof Mcp0Error && e.code === 'ECONFLICT')) throw e;
        if (attempt + 1 >= CONTENDED_AFTER) return { holder: await this.#contended(name) };
      }
    }
  }

  /** Whoever holds a lease that changed hands at every swap this node tried. */
  async #contended(name: string): Promise<LeaseHolder> {
    const ref = await this.#store.blocks.refGet(NODE_NAMESPACE, name);
    const token = ref?.version ?? 0;
    return ref && !isFree(ref.root) ? this.#holder(hex(ref.root), token) : { node: '', pid: 0, host: '', expires: 0, token };
  }

  /**
   * Undefined while this node still holds `agent` (the ref names it at the token it acquired);
   * otherwise who holds it now, and the agent is forgotten. Renews a lapsed heartbeat first.
   * @example
   * const lost = await leases.check('agent-1')
   * if (lost) throw new CallError('EBUSY', `taken over by ${leaseText(lost)}`)
   */
  async check(agent: string): Promise<LeaseHolder | undefined> {
    const token = this.#held.get(agent);
    if (token === undefined) return { node: '', pid: 0, host: '', expires: 0, token: 0 };
    if (this.#now() >= this.#expires) await this.#beat();
    const ref = await this.#store.blocks.refGet(NODE_NAMESPACE, leaseName(agent));
    if (ref && ref.version === token && hex(ref.root) === this.id) return undefined;
    this.#held.delete(agent);
    const version = ref?.version ?? 0;
    return ref && !isFree(ref.root) ? this.#holder(hex(ref.root), version) : { node: '', pid: 0, host: '', expires: 0, token: version };
  }

  /**
   * Whether this node holds `agent` (as far as it knows, without reading the store).
   * @example
   * leases.holds('agent-1') // true after acquire
   */
  holds(agent: string): boolean {
    return this.#held.has(agent);
  }

  /**
   * Gives `agent`'s lease up (the ref moves to free, one version on), unless another node took it.
   * @example
   * await leases.release('agent-1')
   */
  async release(agent: string): Promise<void> {
    const token = this.#held.get(agent);
    if (token === undefined) return;
    this.#held.delete(agent);
    try {
      await this.#store.blocks.refCas(NODE_NAMESPACE, leaseName(agent), token, FREE);
    } catch (e) {
      if (!(e instanceof Mcp0Error && e.code === 'ECONFLICT')) throw e; // taken over: not ours to free
    }
  }

  /**
   * Stops renewing, releases every lease this node holds and removes its heartbeat.
   * @example
   * await leases.stop()
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    const errors: unknown[] = [];
    for (const agent of [...this.#held.keys()]) await this.release(agent).catch((e: unknown) => errors.push(e));
    await Promise.resolve(this.#store.kv.delete(NODE_NAMESPACE, beatKey(this.id))).catch((e: unknown) => errors.push(e));
    if (errors.length > 0)
      throw new CallError(
        'EUNAVAILABLE',
        `leases: ${errors.length} could not be released (they lapse when the heartbeat expires): ${(errors[0] as Error).message}`,
        { errors: errors.length },
      );
  }
}

function parseBeat(bytes: Uint8Array): Heartbeat | undefined {
  try {
    const v = decodeCbor(bytes) as Partial<Heartbeat> | null;
    if (!v || typeof v !== 'object' || typeof v.node !== 'string' || typeof v.expires !== 'number') return undefined;
    const text = (x: unknown) => (typeof x === 'string' ? x : '');
    return {
      node: v.node,
      pid: typeof v.pid === 'number' ? v.pid : 0,
      host: text(v.host),
      boot: text(v.boot),
      started: typeof v.started === 'number' ? v.started : 0,
      expires: v.expires,
    };
  } catch {
    return undefined;
  }
}
