/**
 * Reading the trace chain that `mcp0.trace` keeps through kv (plugins/trace/README.md, "kv layout"):
 * `trace/e/<seq, 20 digits>` → CBOR `{seq, event, eventHash, head}`, `trace/head` → `{seq, head}`,
 * in the kv namespace of the module, `mcp0.trace`. Only reads; never writes the store.
 */
import { existsSync } from 'node:fs';
import { decodeCbor, Mcp0Error, type CborValue } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';

/** The kv namespace of the trace plugin. */
export const TRACE_NAMESPACE = 'mcp0.trace';
/** The head record's key. */
export const HEAD_KEY = 'trace/head';
/** The chain saturates every cost at 2^32 − 1 (the circuit's range check). */
export const MAX_CHAIN_COST = 2n ** 32n - 1n;

/** The key of entry `seq`. */
export const entryKey = (seq: number): string => `trace/e/${String(seq).padStart(20, '0')}`;

/** The head record. */
export interface ChainHead {
  seq: number;
  head: string;
}

/** What the CLI needs of an entry. */
export interface ChainEntry {
  seq: number;
  eventHash: string;
  head: string;
  /** The event's true cost (up to 2^64 − 1). */
  cost: bigint;
}

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

/** Refuses a store URI that would create a store where none is (LmdbStore.open creates its directory). */
export function assertStoreExists(uri: string): void {
  if (!uri.startsWith('lmdb:')) return;
  const dir = uri.slice('lmdb:'.length);
  if (dir !== '' && !existsSync(dir)) {
    throw new Mcp0Error('ENOTFOUND', `no store at ${uri}: ${dir} does not exist (pass --store lmdb:<dir> of the node's data)`, { uri });
  }
}

/** The head record, or undefined when the store holds no trace. */
export async function readHead(kv: KvProvider): Promise<ChainHead | undefined> {
  const bytes = await kv.get(TRACE_NAMESPACE, HEAD_KEY);
  if (bytes === undefined) return undefined;
  const v = decodeAt(bytes, HEAD_KEY);
  const seq = isMap(v) ? uint(v.seq) : undefined;
  if (!isMap(v) || seq === undefined || seq > BigInt(Number.MAX_SAFE_INTEGER) || typeof v.head !== 'string' || !FIELD.test(v.head)) {
    throw new Mcp0Error('ESTATE', `${TRACE_NAMESPACE} ${HEAD_KEY}: the head record is not {seq, head}`, { key: HEAD_KEY });
  }
  return { seq: Number(seq), head: v.head };
}

/** Entry `seq`; a missing or malformed entry is `ESTATE` naming it. */
export async function readEntry(kv: KvProvider, seq: number): Promise<ChainEntry> {
  const key = entryKey(seq);
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
  return { seq, eventHash: v.eventHash, head: v.head, cost };
}

/** The cost the chain (and the circuit) uses: the true cost saturated at 2^32 − 1. */
export const chainCost = (cost: bigint): bigint => (cost > MAX_CHAIN_COST ? MAX_CHAIN_COST : cost);
