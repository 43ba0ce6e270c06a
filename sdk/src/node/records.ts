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
 * for (const r of (await records.list()).records) console.log(r.id, r.name, r.state, r.module.version, r.snapshots.length)
 */
export interface AgentRecord {
  id: string;
  name: string;
  /** The module's manifest name and version. */
  module: { name: string; version: string; blocks: string[] };
  /**
   * The public JWK of the key the module was verified against at spawn. It says which key to look
   * for, never that it is trusted: whoever can write the store can write a record, so a node brings
   * the agent back only when this key is among the keys it trusts now.
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
 * A stored record that is not an agent record: left in the store, reported, never loaded.
 * @example
 * for (const m of (await records.list()).malformed) console.warn(m.key, m.reason)
 */
export interface MalformedRecord {
  key: string;
  /** The agent id the key names. */
  id: string;
  reason: string;
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
 * for (const r of (await records.list()).records) await kernel.load(await records.module(r), { name: r.id })
 */
export class AgentRecords {
  readonly #kv: KvProvider;
  readonly #blocks: BlockProvider;

  constructor(kv: KvProvider, blocks: BlockProvider) {
    this.#kv = kv;
    this.#blocks = blocks;
  }

  /**
   * Every stored agent record, paged through the node's kv namespace. The store is not trusted to
   * hold only what this node wrote: a record that is not a well-formed agent record comes back in
   * `malformed`, with why, instead of failing the whole list.
   * @example
   * const { records, malformed } = await new AgentRecords(store.kv, store.blocks).list()
   */
  async list(): Promise<{ records: AgentRecord[]; malformed: MalformedRecord[] }> {
    const records: AgentRecord[] = [];
    const malformed: MalformedRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#kv.scan(NODE_NAMESPACE, PREFIX, LIMITS.kvScanEntries, after);
      for (const [key, value] of page) {
        const problem = recordProblem(key, value);
        if (typeof problem === 'string') malformed.push({ key, id: key.slice(PREFIX.length), reason: problem });
        else records.push(problem);
      }
      if (page.length < LIMITS.kvScanEntries) return { records, malformed };
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

const HEX64 = /^[0-9a-f]{64}$/;
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The record stored under `key`, or what is wrong with it. */
function recordProblem(key: string, value: Uint8Array): AgentRecord | string {
  let v: unknown;
  try {
    v = decodeCbor(value);
  } catch (e) {
    return `not CBOR (${(e as Error).message})`;
  }
  if (!isMap(v)) return 'not a map';
  if (v.id !== key.slice(PREFIX.length)) return `its id ${JSON.stringify(v.id)} is not the key's ${JSON.stringify(key.slice(PREFIX.length))}`;
  if (typeof v.name !== 'string' || v.name.length === 0 || v.name.length > 256) return 'name is not a string of 1 to 256 characters';
  const m = v.module;
  if (
    !isMap(m) ||
    typeof m.name !== 'string' ||
    typeof m.version !== 'string' ||
    !isStrings(m.blocks) ||
    m.blocks.length === 0 ||
    !m.blocks.every((b) => HEX64.test(b))
  ) {
    return 'module is not {name, version, blocks: [64 hex digits, ...]}';
  }
  if (typeof v.publisher !== 'string') return 'publisher is not a JWK text';
  if (!isStrings(v.grants)) return 'grants is not a list of grant texts';
  if (v.agreement !== null && typeof v.agreement !== 'string') return 'agreement is neither null nor an id';
  if (v.state !== 'running' && v.state !== 'paused') return `state is ${JSON.stringify(v.state)}, expected "running" or "paused"`;
  if (!isTime(v.created)) return 'created is not a time';
  if (
    !Array.isArray(v.snapshots) ||
    v.snapshots.length > MAX_SNAPSHOTS ||
    !v.snapshots.every((x) => isMap(x) && typeof x.id === 'string' && HEX64.test(x.id) && isTime(x.at))
  ) {
    return `snapshots is not a list of at most ${MAX_SNAPSHOTS} {id: 64 hex digits, at}`;
  }
  if (!('config' in v)) return 'config is missing';
  return v as unknown as AgentRecord;
}
