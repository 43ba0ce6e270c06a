/**
 * Agents' `kv`, served by the storage plugin (DESIGN §3): every agent's key space is its HeapBT
 * tree, so it can be snapshotted, diffed and restored. Writes made during an operation are held in
 * an overlay and reach the tree as one `apply` when the operation succeeds, so an operation's
 * writes are atomic (all or none, one new version) and a failed or denied operation changes
 * nothing. Reads inside the operation see its own writes.
 */
import { CallError, type CborValue } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';

/**
 * Calls one export of the storage plugin with a CBOR value.
 * @example
 * const call: StorageCall = (exportName, value) => kernel.callValue('mcp0.storage', exportName, value)
 */
export type StorageCall = (exportName: string, value: CborValue) => Promise<CborValue>;

/** The writes of one operation in progress: a value to put, or null to delete. */
type Overlay = Map<string, Uint8Array | null>;

const encoder = new TextEncoder();

/** UTF-8 byte order, the order the storage plugin lists keys in. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(encoder.encode(a), encoder.encode(b));
}

/**
 * The `agentKv` provider of a node.
 * @example
 * const state = new AgentStateKv((exp, v) => kernel.callValue('mcp0.storage', exp, v))
 * const kernel = new Kernel({ trust, providers: { agentKv: state } })
 * state.begin('agent-1'); await kernel.execute({ agent: 'agent-1', intent: 'remember', input })
 * const root = await state.commit('agent-1')
 */
export class AgentStateKv implements KvProvider {
  readonly #call: StorageCall;
  readonly #open = new Map<string, Overlay>();

  constructor(call: StorageCall) {
    this.#call = call;
  }

  /**
   * Starts holding `agent`'s writes (one operation at a time per agent: the node serialises them).
   * @example
   * state.begin('agent-1') // a second begin before commit or discard is EBUSY
   */
  begin(agent: string): void {
    if (this.#open.has(agent)) throw new CallError('EBUSY', `agent ${agent} already has an operation in progress`, { agent });
    this.#open.set(agent, new Map());
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
   * Applies the operation's writes as one version; returns the new root, or null when nothing was written.
   * @example
   * const root = await state.commit('agent-1')
   */
  async commit(agent: string): Promise<Uint8Array | null> {
    const overlay = this.#open.get(agent);
    this.#open.delete(agent);
    if (!overlay || overlay.size === 0) return null;
    const puts: CborValue[] = [];
    const deletes: CborValue[] = [];
    for (const [key, value] of overlay) {
      if (value === null) deletes.push(key);
      else puts.push([key, value]);
    }
    const out = (await this.#call('apply', { agent, delta: { puts, deletes } })) as { root: Uint8Array };
    return out.root;
  }

  /**
   * The value of `key` in `agent`'s state: the operation's own write when it made one, else the stored value.
   * @example
   * const bytes = await state.get('agent-1', 'notes/1') // undefined when absent
   */
  async get(agent: string, key: string): Promise<Uint8Array | undefined> {
    const overlay = this.#open.get(agent);
    if (overlay?.has(key)) return overlay.get(key) ?? undefined;
    const value = await this.#call('get', { agent, key });
    return value instanceof Uint8Array ? value : undefined;
  }

  /**
   * Writes `key`: held until `commit` during an operation, else stored at once.
   * @example
   * await state.put('agent-1', 'notes/1', new TextEncoder().encode('buy milk'))
   */
  async put(agent: string, key: string, value: Uint8Array): Promise<void> {
    const overlay = this.#open.get(agent);
    if (overlay) overlay.set(key, value.slice());
    else await this.#call('put', { agent, key, value });
  }

  /**
   * Removes `key` (held until `commit` during an operation); true when it existed.
   * @example
   * await state.delete('agent-1', 'notes/1') // true
   */
  async delete(agent: string, key: string): Promise<boolean> {
    const overlay = this.#open.get(agent);
    if (!overlay) return ((await this.#call('delete', { agent, key })) as { existed: boolean }).existed;
    const existed = (await this.get(agent, key)) !== undefined;
    overlay.set(key, null);
    return existed;
  }

  /**
   * At most `limit` entries whose key starts with `prefix`, after `after`, in UTF-8 byte order, the operation's
   * writes merged in.
   * @example
   * const page = await state.scan('agent-1', 'notes/', 100, 'notes/9') // [['notes/10', bytes], ...]
   */
  async scan(agent: string, prefix: string, limit: number, after?: string): Promise<[string, Uint8Array][]> {
    const overlay = this.#open.get(agent);
    const inRange = (k: string) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0);
    const deleted = overlay ? [...overlay.values()].filter((v) => v === null).length : 0;
    // Deletes in the overlay can hide stored entries: fetch enough that `limit` survive.
    const stored = await this.#list(agent, prefix, limit + deleted, after);
    if (!overlay || overlay.size === 0) return stored;
    const merged = new Map<string, Uint8Array>(stored);
    for (const [key, value] of overlay) {
      if (!inRange(key)) continue;
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    const keys = [...merged.keys()].sort(compareKeys);
    // Overlay keys beyond the last stored entry may jump ahead of stored keys not fetched: cut there.
    const horizon = stored.length === limit + deleted ? stored[stored.length - 1]![0] : undefined;
    return keys
      .filter((k) => horizon === undefined || compareKeys(k, horizon) <= 0)
      .slice(0, limit)
      .map((k) => [k, merged.get(k)!]);
  }

  async #list(agent: string, prefix: string, want: number, after?: string): Promise<[string, Uint8Array][]> {
    const out: [string, Uint8Array][] = [];
    let cursor: string | null = after ?? null;
    while (out.length < want) {
      const page = (await this.#call('list', { agent, prefix, limit: Math.min(want - out.length, 1000), cursor })) as {
        entries: [string, Uint8Array][];
        cursor: string | null;
      };
      out.push(...page.entries);
      if (page.cursor === null || page.entries.length === 0) break;
      cursor = page.cursor;
    }
    return out;
  }
}
