/**
 * Shared pieces of every store: SHA-256 ids, hex, the byte layout of namespaced keys and ref
 * records, and the argument checks that turn oversized input into `ETOOBIG` with the limit.
 */
import * as crypto from 'node:crypto';
import { CallError, UsageError } from '@mcp0/abi';
import { STORE_LIMITS } from './types.js';

const utf8 = new TextEncoder();
/** With the `u` flag a surrogate pair is one code point, so this matches only lone halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * SHA-256 of `bytes`: a block's id.
 * @example
 * sha256(new Uint8Array()) // e3b0c442…
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  const digest = oneShot ? oneShot('sha256', bytes, 'buffer') : crypto.createHash('sha256').update(bytes).digest();
  return new Uint8Array(digest); // a copy: small Buffers are slices of a shared pool
}

/** `crypto.hash` (Node ≥ 20.12) hashes small inputs about twice as fast as `createHash`. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/**
 * Lower-case hex of `bytes`, for messages and details.
 * @example
 * hex(new Uint8Array([1, 255])) // '01ff'
 */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * True when both byte strings are equal.
 * @example
 * if (!sameBytes(sha256(bytes), id)) throw corrupt(id, sha256(bytes))
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * UTF-8 of `text`, refusing strings that UTF-8 cannot carry (lone surrogates would collide with
 * U+FFFD) and strings over `limit` bytes.
 * @example
 * encodeText('notes/1', 1024, 'kv key') // Uint8Array(7)
 */
export function encodeText(text: string, limit: number, what: string): Uint8Array {
  if (typeof text !== 'string') throw new UsageError('EUSAGE', `${what}: expected a string, got ${typeof text}`);
  if (LONE_SURROGATE.test(text)) throw new CallError('EINPUT', `${what}: not well-formed Unicode (lone surrogate)`, { what });
  const bytes = utf8.encode(text);
  checkSize(bytes.length, limit, what);
  return bytes;
}

/**
 * Throws `ETOOBIG` with `{what, limit, got}` when `size` exceeds `limit`.
 * @example
 * checkSize(value.length, STORE_LIMITS.kvValueBytes, 'kv value')
 */
export function checkSize(size: number, limit: number, what: string): void {
  if (size > limit) throw new CallError('ETOOBIG', `${what}: ${size} bytes is over the limit of ${limit}`, { what, limit, got: size });
}

/**
 * Throws `EUSAGE` unless `value` is a Uint8Array.
 * @example
 * checkBytes(root, 'root') // root is a Uint8Array from here on
 */
export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new UsageError('EUSAGE', `${what}: expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
}

/**
 * The header that isolates a namespace: its UTF-8 length (2 bytes, big-endian) then its bytes.
 * Keys of one namespace share the header, so byte order inside a namespace is the key's byte order.
 * @example
 * namespaceHeader('a') // Uint8Array [0, 1, 97]
 */
export function namespaceHeader(namespace: string): Uint8Array {
  const ns = encodeText(namespace, STORE_LIMITS.namespaceBytes, 'namespace');
  const out = new Uint8Array(2 + ns.length);
  out[0] = ns.length >> 8;
  out[1] = ns.length & 0xff;
  out.set(ns, 2);
  return out;
}

/**
 * `header` followed by `key`.
 * @example
 * const key = concat(namespaceHeader('agent-1'), encodeText('notes/1', STORE_LIMITS.kvKeyBytes, 'kv key'))
 */
export function concat(header: Uint8Array, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + key.length);
  out.set(header, 0);
  out.set(key, header.length);
  return out;
}

/**
 * True when `bytes` starts with `prefix`.
 * @example
 * startsWith(key, namespaceHeader('agent-1')) // a key of that namespace
 */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * A ref as stored: 8-byte big-endian version, then the root.
 * @example
 * const record = encodeRef(3, root) // 8 + root.length bytes
 */
export function encodeRef(version: number, root: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + root.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(version));
  out.set(root, 8);
  return out;
}

/**
 * The inverse of `encodeRef`.
 * @example
 * const { root, version } = decodeRef(encodeRef(3, id)) // version 3, root equal to id
 */
export function decodeRef(record: Uint8Array): { root: Uint8Array; version: number } {
  const version = Number(new DataView(record.buffer, record.byteOffset, record.byteLength).getBigUint64(0));
  return { root: record.slice(8), version };
}

/**
 * Throws `EUSAGE` unless `expect` is a version a CAS can name (0 for absent, or a positive integer).
 * @example
 * checkVersion(-1) // throws EUSAGE
 */
export function checkVersion(expect: number): void {
  if (!Number.isSafeInteger(expect) || expect < 0)
    throw new UsageError('EUSAGE', `refCas: expect must be a non-negative integer, got ${String(expect)}`, { expect });
}

/**
 * The `ECONFLICT` a stale CAS throws, with `{namespace, name, expected, actual}`.
 * @example
 * if (actual !== expect) throw conflict(namespace, name, expect, actual)
 */
export function conflict(namespace: string, name: string, expected: number, actual: number): CallError {
  return new CallError('ECONFLICT', `ref ${namespace}/${name}: expected version ${expected}, found ${actual}`, { namespace, name, expected, actual });
}

/**
 * The `EINTERNAL` a block whose bytes do not hash to its id throws, with `{id, got}` in hex.
 * @example
 * const got = sha256(bytes)
 * if (!sameBytes(got, id)) throw corrupt(id, got)
 */
export function corrupt(id: Uint8Array, got: Uint8Array): CallError {
  return new CallError('EINTERNAL', `corrupt block ${hex(id)}: hash mismatch`, { id: hex(id), got: hex(got) });
}

/**
 * `deleteBlocks`' `writtenBefore` as a number (Infinity: no condition); `EUSAGE` unless finite.
 * @example
 * checkWrittenBefore({ writtenBefore: 0 }) // 0
 */
export function checkWrittenBefore(options: { writtenBefore?: number } | undefined): number {
  const t = options?.writtenBefore;
  if (t === undefined) return Infinity;
  if (typeof t !== 'number' || !Number.isFinite(t))
    throw new UsageError('EUSAGE', `deleteBlocks: writtenBefore must be a finite number of ms, got ${String(t)}`);
  return t;
}
