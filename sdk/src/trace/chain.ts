/**
 * Reading the trace chain from the trace role's public kv layout (abi/ROLES.md), straight from a
 * store's kv: `trace/e/<seq, 20 digits>` → CBOR `{seq, event, eventHash, head}`, `trace/head` →
 * `{seq, head}`, in namespace `mcp0.trace`, each record checked against the role's contract. Read only. The CLI
 * reads a node's store this way with no node running; `TraceChainView` is what proof binding needs
 * of a chain, so a client can answer it from a store (`kvTraceChain`) or a live node
 * (`nodeTraceChain`).
 */
import { chainCost, checkRoleRecord, decodeCbor, MAX_CHAIN_COST, Mcp0Error, TRACE_HEAD_KEY, TRACE_NAMESPACE, traceEntryKey, type CborValue } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { RoleClient } from '../roles/index.js';

/** The trace role's kv layout and cost cap (abi/src/roles/trace.ts), exported by the SDK too. */
export { TRACE_NAMESPACE, TRACE_HEAD_KEY, MAX_CHAIN_COST, traceEntryKey, chainCost };

/**
 * A chain head: the last entry's seq and the head after it (a decimal field element).
 * @example
 * const { seq, head }: TraceHead = (await readTraceHead(store.kv))!
 */
export interface TraceHead {
  seq: number;
  head: string;
}

/**
 * What binding and proving need of one stored entry.
 * @example
 * const { eventHash, cost, head, agent }: TraceChainEntry = await readTraceEntry(store.kv, 41)
 */
export interface TraceChainEntry {
  seq: number;
  eventHash: string;
  head: string;
  /** The event's true cost (up to 2^64 − 1); the chain uses it saturated at 2^32 − 1. */
  cost: bigint;
  /** The agent the operation ran as (`event.agent`). */
  agent: string;
}

function decodeAt(bytes: Uint8Array, key: string): CborValue {
  try {
    return decodeCbor(bytes);
  } catch (e) {
    throw new Mcp0Error('ESTATE', `${TRACE_NAMESPACE} ${key}: the stored value is not CBOR (${(e as Error).message})`, { key }, { cause: e });
  }
}

/**
 * The head record, or undefined when the store holds no trace; `ESTATE` when it is malformed.
 * @example
 * const head = await readTraceHead(store.kv) // { seq: 41, head: '1234…' }
 */
export async function readTraceHead(kv: KvProvider): Promise<TraceHead | undefined> {
  const bytes = await kv.get(TRACE_NAMESPACE, TRACE_HEAD_KEY);
  if (bytes === undefined) return undefined;
  const { seq, head } = checkRoleRecord('trace', 'kv.head', decodeAt(bytes, TRACE_HEAD_KEY), `${TRACE_NAMESPACE} ${TRACE_HEAD_KEY}`);
  return { seq, head };
}

/**
 * Entry `seq`; a missing or malformed entry is `ESTATE` naming it.
 * @example
 * const entry = await readTraceEntry(store.kv, 41)
 */
export async function readTraceEntry(kv: KvProvider, seq: number): Promise<TraceChainEntry> {
  const key = traceEntryKey(seq);
  const bytes = await kv.get(TRACE_NAMESPACE, key);
  if (bytes === undefined) throw new Mcp0Error('ESTATE', `entry ${seq} is missing (${TRACE_NAMESPACE} ${key})`, { seq, key });
  const entry = checkRoleRecord('trace', 'kv.entry', decodeAt(bytes, key), `entry ${seq} (${TRACE_NAMESPACE} ${key})`);
  if (entry.seq !== seq) throw new Mcp0Error('ESTATE', `entry ${seq} (${TRACE_NAMESPACE} ${key}) is malformed: its seq is ${entry.seq}`, { seq, key });
  return { seq, eventHash: entry.eventHash, head: entry.head, cost: BigInt(entry.event.cost), agent: entry.event.agent };
}

/**
 * What binding a proof to a chain needs of it: the head, and the head after any entry.
 * @example
 * const view: TraceChainView = kvTraceChain(store.kv)
 * const { seq } = (await view.head())!
 */
export interface TraceChainView {
  /** Where the view reads (for messages), e.g. `lmdb:./data`. */
  readonly name: string;
  /** The chain head, or undefined when the chain is empty. */
  head(): Promise<TraceHead | undefined>;
  /** The head after entry `seq`; throws (ESTATE, ENOTFOUND) when the entry is missing or malformed. */
  headAt(seq: number): Promise<string>;
}

/**
 * A chain view over a store's kv (the node need not run).
 * @example
 * await verifyTraceProof(file, { vkey, chain: kvTraceChain(store.kv, store.uri) })
 */
export function kvTraceChain(kv: KvProvider, name = 'the store'): TraceChainView {
  return {
    name,
    head: () => readTraceHead(kv),
    headAt: async (seq) => (await readTraceEntry(kv, seq)).head,
  };
}

/**
 * What `nodeTraceChain` needs of a node: its typed trace client's `head` and `get`.
 * @example
 * const source: TraceRoleCaller = node.roles.trace
 */
export type TraceRoleCaller = Pick<RoleClient<'trace'>, 'head' | 'get'>;

/**
 * A chain view over a running node's trace role (`head` and `get`).
 * @example
 * await verifyTraceProof(file, { vkey, chain: nodeTraceChain(node.roles.trace) })
 */
export function nodeTraceChain(trace: TraceRoleCaller, name = 'the node'): TraceChainView {
  return {
    name,
    async head() {
      const h = await trace.head();
      return h.seq === null ? undefined : { seq: h.seq, head: h.head };
    },
    async headAt(seq) {
      return (await trace.get({ seq })).head;
    },
  };
}
