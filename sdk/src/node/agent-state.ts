/**
 * Agents' `kv`, served by the storage plugin (ARCHITECTURE.md §6): every agent's key space is its HeapBT
 * tree, so it can be snapshotted, diffed and restored. Writes made during an operation are held in
 * an overlay and reach the tree as one `apply` when the operation succeeds, so an operation's
 * writes are atomic (all or none, one new version) and a failed or denied operation changes
 * nothing. Reads inside the operation see its own writes.
 *
 * An operation is also isolated: `begin` records the head it starts from (one `snapshot`: the tree
 * root and the head version), every read of the operation is made at that root, however the head
 * moves meanwhile, and `commit` applies the writes with `expect` = that version. If the head moved
 * in between (another writer), the commit is refused with `ECONFLICT` and nothing is written,
 * unless the head's tree is still the root the operation read (a new version with the same
 * content, as gc's retention writes): then what the operation read is still current, and the
 * writes are applied at the new version (a few attempts, with backoff and jitter). The operation
 * is never run again here: its admit and observe hooks have run, and running it twice would charge
 * and trace it twice. The node reports the `ECONFLICT`; the caller may run it again.
 *
 * What an operation may write is bounded by what one `apply` can carry (the kernel caps a call's
 * input at 4 MiB): OPERATION_WRITE_BUDGET, enforced at `kv_put`/`kv_delete` time with `ETOOBIG`,
 * so an operation never writes more than it can commit (ABI.md §4).
 */
import { CallError, Mcp0Error, UsageError } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { RoleClient } from '../roles/index.js';

/**
 * What one operation may write: the bytes of its held writes, counting each put as its key's UTF-8
 * bytes + the value's bytes + `entryBytes`, and each delete as its key + `entryBytes`, and the
 * number of keys it writes. 4 MiB − 64 KiB keeps the `apply` that commits them (CBOR framing of at
 * most 9 bytes per entry, and the agent id) under the kernel's 4 MiB input cap; 100,000 keys is the
 * storage plugin's largest delta.
 * @example
 * OPERATION_WRITE_BUDGET.bytes // 4_128_768
 */
export const OPERATION_WRITE_BUDGET = { bytes: (4 << 20) - (64 << 10), keys: 100_000, entryBytes: 16 } as const;

/**
 * Attempts and pauses where the host retries a write on `ECONFLICT`: a commit whose reads are still
 * current, and `put`/`delete` outside an operation (the plugin has already tried 5 times). The
 * pause after attempt n (from 1) is uniform in [0, min(maxMs, baseMs · 2^n)] ("full jitter"), so
 * writers that collided do not collide again in step. Each conflict is another writer's progress,
 * but on a loaded machine a writer can lose several rounds in a row: ten attempts over at most
 * about two seconds, rather than four within 60 ms (three writers lost puts under CI load).
 * @example
 * AGENT_STATE_RETRY.attempts // 10
 */
export const AGENT_STATE_RETRY = { attempts: 10, baseMs: 4, maxMs: 400 } as const;

/** The writes of one operation in progress (a value to put, or null to delete) and what it read. */
interface Operation {
  overlay: Map<string, Uint8Array | null>;
  /** The tree root the operation reads at, and the head version it started from. */
  root: Uint8Array;
  version: number;
  /** Bytes of the budget the writes use. */
  bytes: number;
}

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** UTF-8 byte order, the order the storage plugin lists keys in. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(encoder.encode(a), encoder.encode(b));
}

/** A key as the storage plugin takes it: text that is well-formed Unicode (else it would collide). */
function checkKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== 'string') throw new UsageError('EUSAGE', `${what}: expected a string, got ${typeof key}`);
  if (LONE_SURROGATE.test(key))
    throw new CallError('EINPUT', `${what}: not well-formed Unicode (a lone surrogate); it would name the same key as U+FFFD`, { what });
}

function cost(key: string, value: Uint8Array | null): number {
  return Buffer.byteLength(key) + (value?.length ?? 0) + OPERATION_WRITE_BUDGET.entryBytes;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const isConflict = (e: unknown) => e instanceof Mcp0Error && e.code === 'ECONFLICT';
const pause = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * Math.min(AGENT_STATE_RETRY.maxMs, AGENT_STATE_RETRY.baseMs * 2 ** attempt)));

/**
 * The `agentKv` provider of a node.
 * @example
 * const state = new AgentStateKv(roleClient('storage', (exp, v) => kernel.callValue('mcp0.storage', exp, v)))
 * const kernel = new Kernel({ trust, providers: { agentKv: state } })
 * await state.begin('agent-1'); await kernel.execute({ agent: 'agent-1', intent: 'remember', input })
 * const root = await state.commit('agent-1')
 */
export class AgentStateKv implements KvProvider {
  readonly #storage: RoleClient<'storage'>;
  readonly #open = new Map<string, Operation>();
  readonly #starting = new Set<string>();

  constructor(storage: RoleClient<'storage'>) {
    this.#storage = storage;
  }

  /**
   * Starts holding `agent`'s writes and fixes the state its reads see: the head now (one operation
   * at a time per agent: the node serialises them). Answers that head.
   * @example
   * await state.begin('agent-1') // { root, version }; a second begin before commit or discard is EBUSY
   */
  async begin(agent: string): Promise<{ root: Uint8Array; version: number }> {
    if (this.#open.has(agent) || this.#starting.has(agent)) throw new CallError('EBUSY', `agent ${agent} already has an operation in progress`, { agent });
    this.#starting.add(agent);
    try {
      const head = await this.#storage.snapshot({ agent });
      this.#open.set(agent, { overlay: new Map(), root: head.root, version: head.version, bytes: 0 });
      return head;
    } finally {
      this.#starting.delete(agent);
    }
  }

  /**
   * Drops the operation's writes.
   * @example
   * state.discard('agent-1') // the operation failed: nothing it wrote lands
   */
  discard(agent: string): void {
    this.#open.delete(agent);
  }

  /**
   * How many keys the operation in progress has written (0 without one).
   * @example
   * if (state.pending('agent-1') > 0) await checkStillOurs()
   */
  pending(agent: string): number {
    return this.#open.get(agent)?.overlay.size ?? 0;
  }

  /**
   * Applies the operation's writes as one version, if the head is still the one the operation
   * began at (or holds the same tree); returns the new root, or null when nothing was written.
   * `ECONFLICT` (`details: {expected, found}`) when another writer changed the state meanwhile:
   * nothing is written.
   * @example
   * const root = await state.commit('agent-1')
   */
  async commit(agent: string): Promise<Uint8Array | null> {
    const op = this.#open.get(agent);
    this.#open.delete(agent);
    if (!op || op.overlay.size === 0) return null;
    const puts: [string, Uint8Array][] = [];
    const deletes: string[] = [];
    for (const [key, value] of op.overlay) {
      if (value === null) deletes.push(key);
      else puts.push([key, value]);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.#storage.apply({ agent, delta: { puts, deletes }, expect: op.version });
        return out.root;
      } catch (e) {
        if (!isConflict(e)) throw e;
        const head = await this.#storage.snapshot({ agent });
        if (!sameBytes(head.root, op.root) || attempt >= AGENT_STATE_RETRY.attempts) {
          const changed = sameBytes(head.root, op.root) ? 'its head kept moving' : 'its state changed';
          throw new CallError(
            'ECONFLICT',
            `agent ${agent}: ${changed} since the operation began (head version ${op.version}, now ${head.version}): the operation's writes were not applied; run it again`,
            { agent, expected: op.version, found: head.version },
            { cause: e },
          );
        }
        op.version = head.version;
        await pause(attempt);
      }
    }
  }

  /**
   * The value of `key` in `agent`'s state: the operation's own write when it made one, else the
   * value at the root the operation began at (outside an operation: at the head).
   * @example
   * const bytes = await state.get('agent-1', 'notes/1') // undefined when absent
   */
  async get(agent: string, key: string): Promise<Uint8Array | undefined> {
    checkKey(key, 'key');
    const op = this.#open.get(agent);
    if (op?.overlay.has(key)) return op.overlay.get(key) ?? undefined;
    return (await this.#storage.get(op ? { agent, key, root: op.root } : { agent, key })) ?? undefined;
  }

  /**
   * Writes `key`: held until `commit` during an operation (`ETOOBIG` past OPERATION_WRITE_BUDGET),
   * else stored at once.
   * @example
   * await state.put('agent-1', 'notes/1', new TextEncoder().encode('buy milk'))
   */
  async put(agent: string, key: string, value: Uint8Array): Promise<void> {
    checkKey(key, 'key');
    const op = this.#open.get(agent);
    if (op) this.#hold(agent, op, key, value.slice());
    else await this.#retry(() => this.#storage.put({ agent, key, value }));
  }

  /**
   * Removes `key` (held until `commit` during an operation); true when it existed.
   * @example
   * await state.delete('agent-1', 'notes/1') // true
   */
  async delete(agent: string, key: string): Promise<boolean> {
    checkKey(key, 'key');
    const op = this.#open.get(agent);
    if (!op) return (await this.#retry(() => this.#storage.delete({ agent, key }))).existed;
    const existed = (await this.get(agent, key)) !== undefined;
    this.#hold(agent, op, key, null);
    return existed;
  }

  /** Adds a write to the operation, within its budget. */
  #hold(agent: string, op: Operation, key: string, value: Uint8Array | null): void {
    const had = op.overlay.has(key);
    const bytes = op.bytes - (had ? cost(key, op.overlay.get(key)!) : 0) + cost(key, value);
    const keys = op.overlay.size + (had ? 0 : 1);
    const budget = OPERATION_WRITE_BUDGET;
    if (bytes > budget.bytes || keys > budget.keys) {
      const what = bytes > budget.bytes ? `${bytes} bytes (the budget is ${budget.bytes})` : `${keys} keys (the budget is ${budget.keys})`;
      throw new CallError(
        'ETOOBIG',
        `agent ${agent}: this ${value === null ? 'delete' : 'put'} of ${JSON.stringify(key.slice(0, 64))} would bring the operation's writes to ${what}; ` +
          `it already holds ${op.bytes} bytes in ${op.overlay.size} keys. An operation commits its writes as one apply, so it may write at most ` +
          `${budget.bytes} bytes (each key + value + ${budget.entryBytes}) and ${budget.keys} keys`,
        { agent, budget: budget.bytes, keysBudget: budget.keys, held: op.bytes, heldKeys: op.overlay.size, wouldHold: bytes },
      );
    }
    op.overlay.set(key, value);
    op.bytes = bytes;
  }

  /** A write outside an operation, tried again (with backoff and jitter) while the plugin reports ECONFLICT. */
  async #retry<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (e) {
        if (!isConflict(e) || attempt >= AGENT_STATE_RETRY.attempts) throw e;
        await pause(attempt);
      }
    }
  }

  /**
   * At most `limit` entries whose key starts with `prefix`, after `after`, in UTF-8 byte order, the
   * operation's writes merged in (read at the root the operation began at).
   * @example
   * const page = await state.scan('agent-1', 'notes/', 100, 'notes/9') // [['notes/10', bytes], ...]
   */
  async scan(agent: string, prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]> {
    checkKey(prefix, 'prefix');
    if (after !== undefined) checkKey(after, 'after');
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new UsageError('EUSAGE', `scan: limit must be a non-negative integer, got ${String(limit)}`, { limit });
    if (limit === 0) return [];
    const op = this.#open.get(agent);
    const inRange = (k: string) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0);
    let deleted = 0;
    for (const [k, v] of op?.overlay ?? []) if (v === null && inRange(k)) deleted++;
    // Deletes in the overlay can hide stored entries: fetch enough that `limit` survive.
    const want = limit + deleted;
    const stored = await this.#list(agent, prefix, want, after, op?.root);
    if (!op || op.overlay.size === 0) return stored;
    const merged = new Map<string, Uint8Array>(stored);
    for (const [key, value] of op.overlay) {
      if (!inRange(key)) continue;
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    const keys = [...merged.keys()].sort(compareKeys);
    // Overlay keys beyond the last stored entry may jump ahead of stored keys not fetched: cut there.
    const horizon = stored.length === want ? stored.at(-1)?.[0] : undefined;
    return keys
      .filter((k) => horizon === undefined || compareKeys(k, horizon) <= 0)
      .slice(0, limit)
      .map((k) => [k, merged.get(k)!]);
  }

  async #list(agent: string, prefix: string, want: number, after: string | undefined, root: Uint8Array | undefined): Promise<[string, Uint8Array][]> {
    const out: [string, Uint8Array][] = [];
    let cursor: string | null = after ?? null;
    while (out.length < want) {
      const page = await this.#storage.list({ agent, prefix, limit: Math.min(want - out.length, 1000), cursor, ...(root ? { root } : {}) });
      out.push(...page.entries);
      if (page.cursor === null || page.entries.length === 0) break;
      cursor = page.cursor;
    }
    return out;
  }
}
