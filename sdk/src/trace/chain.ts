/**
 * Reading the trace chain that `mcp0.trace` keeps (plugins/trace/README.md, "kv layout"), straight
 * from a store's kv: `trace/e/<seq, 20 digits>` → CBOR `{seq, event, eventHash, head}`,
 * `trace/head` → `{seq, head}`, in the plugin's kv namespace `mcp0.trace`. Read only. The CLI
 * reads a node's store this way with no node running; `TraceChainView` is what proof binding needs
 * of a chain, so a client can answer it from a store (`kvTraceChain`) or a live node
 * (`nodeTraceChain`).
 */
import { chainCost, decodeCbor, MAX_CHAIN_COST, Mcp0Error, TRACE_HEAD_KEY, TRACE_NAMESPACE, traceEntryKey, type CborValue } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';

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

/** A canonical decimal field element: no sign, no leading zeros. */
const FIELD = /^(0|[1-9][0-9]*)$/;

function isMap(v: CborValue | undefined): v is { [key: string]: CborValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function uint(v: CborValue | undefined): bigint | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v;
  return undefined;
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
  const v = decodeAt(bytes, TRACE_HEAD_KEY);
  const seq = isMap(v) ? uint(v.seq) : undefined;
  if (!isMap(v) || seq === undefined || seq > BigInt(Number.MAX_SAFE_INTEGER) || typeof v.head !== 'string' || !FIELD.test(v.head)) {
    throw new Mcp0Error('ESTATE', `${TRACE_NAMESPACE} ${TRACE_HEAD_KEY}: the head record is not {seq, head}`, { key: TRACE_HEAD_KEY });
  }
  return { seq: Number(seq), head: v.head };
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
  const v = decodeAt(bytes, key);
  const bad = (what: string): Mcp0Error => new Mcp0Error('ESTATE', `entry ${seq} (${key}) is malformed: ${what}`, { seq, key });
  if (!isMap(v)) throw bad('not a map');
  if (uint(v.seq) !== BigInt(seq)) throw bad(`its seq is ${String(v.seq)}`);
  if (typeof v.eventHash !== 'string' || !FIELD.test(v.eventHash)) throw bad('eventHash is not a decimal field element');
  if (typeof v.head !== 'string' || !FIELD.test(v.head)) throw bad('head is not a decimal field element');
  const cost = isMap(v.event) ? uint(v.event.cost) : undefined;
  if (cost === undefined) throw bad('event.cost is not an unsigned integer');
  const agent = isMap(v.event) ? v.event.agent : undefined;
  if (typeof agent !== 'string') throw bad('event.agent is not text');
  return { seq, eventHash: v.eventHash, head: v.head, cost, agent };
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
 * What `nodeTraceChain` needs of a node: calling the trace role.
 * @example
 * const source: TraceRoleCaller = node
 */
export interface TraceRoleCaller {
  callRole(role: 'trace', exportName: string, value: CborValue): Promise<CborValue>;
}

/**
 * A chain view over a running node's trace role (`head` and `get`).
 * @example
 * await verifyTraceProof(file, { vkey, chain: nodeTraceChain(node) })
 */
export function nodeTraceChain(node: TraceRoleCaller, name = 'the node'): TraceChainView {
  return {
    name,
    async head() {
      const h = (await node.callRole('trace', 'head', {})) as { seq: number | bigint | null; head: string };
      return h.seq === null ? undefined : { seq: Number(h.seq), head: h.head };
    },
    async headAt(seq) {
      const entry = (await node.callRole('trace', 'get', { seq })) as { head: string };
      return entry.head;
    },
  };
}
