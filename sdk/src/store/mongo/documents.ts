/**
 * How MongoStore lays a store out in a database: its collections, their documents and `_id`s.
 *
 * - `blocks`: `{_id: "<hex sha256>", data: Binary, t: <last write, ms>}`. The `_id` is hex text,
 *   not Binary: FerretDB 1.24 (SQLite) filters a text `_id` in SQL but decodes every document in Go
 *   for a Binary one, so each read cost 20–70 ms at 10k blocks of 1 KiB.
 * - `refs`: append-only versions `{_id: "<hex key>.<16-digit version>", ns, name, v, root, w, at}`
 *   (refs.ts says why).
 * - `refhints`: `{_id: "<hex key>", v}`, a lower bound on a ref's latest version.
 * - `kv`: `{_id: "<hex key>", ns, k, v: Binary}`.
 *
 * A "hex key" is lower-case hex of the byte layout the other stores use (codec.ts: the namespace's
 * 2-byte length, the namespace, then the key or ref name). Hex strings sort like the bytes they
 * encode, so the `_id` index alone serves byte-ordered kv scans, prefix bounds and the
 * highest-version lookup, whatever collation the server applies to text.
 */
import type { Binary, Collection } from 'mongodb';
import { concat, encodeText, hex, namespaceHeader } from '../codec.js';
import { STORE_LIMITS } from '../types.js';
import type { Retry } from './retry.js';

/**
 * A stored block.
 * @example
 * const doc: BlockDoc = { _id: hex(id), data: new Binary(bytes), t: Date.now() }
 */
export interface BlockDoc {
  _id: string;
  data: Binary;
  /** Last write (put or re-put), ms since the epoch: gc sweeps only blocks older than its grace period. */
  t: number;
}

/**
 * One version of a ref.
 * @example
 * const doc: RefDoc = { _id: versionId(key, 1), ns, name, v: 1, root: new Binary(root), w: new Binary(token), at: new Date() }
 */
export interface RefDoc {
  _id: string;
  ns: string;
  name: string;
  v: number;
  root: Binary;
  /** The writer's random token: tells a retried insert that its first attempt already won. */
  w: Binary;
  at: Date;
}

/**
 * A kv entry.
 * @example
 * const doc: KvDoc = { _id: kvId(ns, key), ns, k: key, v: new Binary(value) }
 */
export interface KvDoc {
  _id: string;
  ns: string;
  k: string;
  v: Binary;
}

/**
 * A lower bound on a ref's latest version, kept by its writers (`_id`: the ref's hex key).
 * @example
 * await hints.updateOne({ _id: key }, { $max: { v: 3 } }, { upsert: true })
 */
export interface HintDoc {
  _id: string;
  v: number;
}

/**
 * The collections of one store's database.
 * @example
 * const c: Collections = { blocks: db.collection('blocks'), refs: db.collection('refs'), kv: db.collection('kv'), hints: db.collection('refhints') }
 */
export interface Collections {
  blocks: Collection<BlockDoc>;
  refs: Collection<RefDoc>;
  kv: Collection<KvDoc>;
  hints: Collection<HintDoc>;
}

/**
 * How a store runs one driver operation (`op` names it in errors), retried as `retry` allows.
 * @example
 * const doc = await run('kv.get', 'read', (c) => c.kv.findOne({ _id: id }))
 */
export type Run = <T>(op: string, retry: Retry, fn: (c: Collections, attempt: number) => Promise<T>) => Promise<T>;

/**
 * `_id` of a kv entry: hex of the namespaced key, as laid out by codec.ts.
 * @example
 * kvId('agent', 'k') // '0005' + hex('agentk')
 */
export function kvId(namespace: string, key: string): string {
  return hex(concat(namespaceHeader(namespace), encodeText(key, STORE_LIMITS.kvKeyBytes, 'kv key')));
}

/**
 * The common part of a ref's version `_id`s: hex of the namespaced ref name.
 * @example
 * refHex('agent', 'head') // '0005' + hex('agenthead')
 */
export function refHex(namespace: string, name: string): string {
  return hex(concat(namespaceHeader(namespace), encodeText(name, STORE_LIMITS.refNameBytes, 'ref name')));
}

/**
 * `_id` of one ref version: `<hex>.<version as 16 decimal digits>`. '.' and '/' sort below every hex
 * digit, so the range (`<hex>.`, `<hex>/`) holds exactly this ref's versions, in version order.
 * @example
 * versionId('00ab', 3) // '00ab.0000000000000003'
 */
export function versionId(key: string, version: number): string {
  return `${key}.${String(version).padStart(16, '0')}`;
}

/**
 * A copy of a Binary's bytes (never a view into the driver's reply buffer).
 * @example
 * const value = bytesOf(doc.v)
 */
export function bytesOf(value: Binary): Uint8Array {
  return new Uint8Array(value.buffer.subarray(0, value.position));
}
