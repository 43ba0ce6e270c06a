/**
 * What a node remembers about its agents, so a restarted node brings them back: one CBOR record per
 * agent in the node's own kv namespace, and the agent's signed module as content-addressed blocks
 * (chunked under the block size limit). The agent's state itself lives in the storage plugin.
 */
import { CallError, LIMITS, decodeCbor, encodeCbor, type CborValue } from '@mcp0/abi';
import type { BlockProvider, KvProvider } from '@mcp0/kernel';

/**
 * The kv namespace of the node's records.
 * @example
 * await store.kv.scan(NODE_NAMESPACE, 'agent/', 100)
 */
export const NODE_NAMESPACE = 'mcp0.node';
const PREFIX = 'agent/';

/**
 * A snapshot the node took of an agent.
 * @example
 * const snap: SnapshotRecord = await agent.snapshot() // { id: '3f9a…', at: 1764000000000 }
 */
export interface SnapshotRecord {
  /** The state root, hex: the snapshot id. */
  id: string;
  /** When it was taken (ms since the epoch). */
  at: number;
}

/**
 * One agent, as stored.
 * @example
 * for (const r of await records.list()) console.log(r.id, r.name, r.state, r.module.version, r.snapshots.length)
 */
export interface AgentRecord {
  id: string;
  name: string;
  /** The module's manifest name and version. */
  module: { name: string; version: string; blocks: string[] };
  /**
   * The public JWK of the key the module was verified against at spawn. A node trusts it again to
   * bring the agent back, so a restart needs no flags; the record is the node's own, written only
   * after that verification.
   */
  publisher: string;
  grants: string[];
  config: CborValue;
  agreement: string | null;
  state: 'running' | 'paused';
  created: number;
  /** Newest last; bounded to the last MAX_SNAPSHOTS. */
  snapshots: SnapshotRecord[];
}

/**
 * Snapshots a record keeps (older ones stay in the storage plugin's history).
 * @example
 * agent.snapshots.length <= MAX_SNAPSHOTS // always
 */
export const MAX_SNAPSHOTS = 64;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Reads and writes agent records and modules.
 * @example
 * const records = new AgentRecords(store.kv, store.blocks)
 * for (const r of await records.list()) await kernel.load(await records.module(r), { name: r.id })
 */
export class AgentRecords {
  readonly #kv: KvProvider;
  readonly #blocks: BlockProvider;

  constructor(kv: KvProvider, blocks: BlockProvider) {
    this.#kv = kv;
    this.#blocks = blocks;
  }

  /**
   * Every stored agent record, paged through the node's kv namespace.
   * @example
   * const stored = await new AgentRecords(store.kv, store.blocks).list()
   */
  async list(): Promise<AgentRecord[]> {
    const out: AgentRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#kv.scan(NODE_NAMESPACE, PREFIX, LIMITS.kvScanEntries, after);
      for (const [key, value] of page) out.push(parse(key, value));
      if (page.length < LIMITS.kvScanEntries) return out;
      after = page[page.length - 1]![0];
    }
  }

  /**
   * Writes `record`, replacing the stored one of the same id.
   * @example
   * record.state = 'paused'; await records.save(record)
   */
  async save(record: AgentRecord): Promise<void> {
    await this.#kv.put(NODE_NAMESPACE, PREFIX + record.id, encodeCbor(record as unknown as CborValue));
  }

  /**
   * Deletes the record of agent `id` (its module blocks are left in the store).
   * @example
   * await records.remove('agent-1')
   */
  async remove(id: string): Promise<void> {
    await this.#kv.delete(NODE_NAMESPACE, PREFIX + id);
  }

  /**
   * Stores a module's bytes; returns the block ids (hex) to keep in the record.
   * @example
   * const blocks = await records.putModule(moduleBytes) // ['9f86d0…', ...]
   */
  async putModule(bytes: Uint8Array): Promise<string[]> {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += LIMITS.blockBytes) chunks.push(bytes.subarray(at, at + LIMITS.blockBytes));
    const ids: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i += LIMITS.blocksPerCall) ids.push(...(await this.#blocks.put(chunks.slice(i, i + LIMITS.blocksPerCall))));
    return ids.map(hex);
  }

  /**
   * The module bytes of a record; ENOTFOUND when a block is gone.
   * @example
   * const bytes = await records.module(record)
   */
  async module(record: AgentRecord): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (const id of record.module.blocks) {
      const block = await this.#blocks.get(Buffer.from(id, 'hex'));
      if (!block) throw new CallError('ENOTFOUND', `agent ${record.id}: module block ${id} is missing from the store`, { agent: record.id, block: id });
      parts.push(block);
    }
    return Buffer.concat(parts);
  }
}

function parse(key: string, value: Uint8Array): AgentRecord {
  const v = decodeCbor(value) as unknown as AgentRecord;
  if (v === null || typeof v !== 'object' || typeof v.id !== 'string' || typeof v.name !== 'string' || !Array.isArray(v.snapshots)) {
    throw new CallError('EINTERNAL', `node record ${key} is not an agent record`, { key });
  }
  return v;
}
