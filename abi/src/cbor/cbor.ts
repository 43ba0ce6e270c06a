/**
 * The host side of the ABI's CBOR profile: RFC 8949 §4.2.1 core deterministic encoding through
 * `cborg`. The same value always encodes to the same bytes, so hashes and signatures over CBOR are
 * stable. Decoding is strict: indefinite lengths, non-minimal heads, duplicate map keys, undefined
 * and trailing bytes are refused with `EINPUT`.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { CallError, Mcp0Error } from '../errors/index.js';

/** The deepest nesting the decoder accepts; deeper input is hostile, not data. */
export const MAX_CBOR_DEPTH = 64;

/** The value space of the profile: what `encodeCbor` takes and `decodeCbor` gives. */
export type CborValue = null | boolean | number | bigint | string | Uint8Array | CborValue[] | { [key: string]: CborValue };

const decodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  retainStringBytes: false,
} as const;

/**
 * Encode a value deterministically (RFC 8949 §4.2.1).
 * @example
 * encodeCbor({ b: 1, a: 2 }) // → a2 61 61 02 61 62 01: keys sorted by encoded bytes
 */
export function encodeCbor(value: unknown): Uint8Array {
  try {
    return encode(value, rfc8949EncodeOptions);
  } catch (e) {
    throw new Mcp0Error('EINPUT', `CBOR: cannot encode value: ${(e as Error).message}`, {}, { cause: e });
  }
}

/**
 * Decode one CBOR item, strictly; the whole input must be exactly one item.
 * @example
 * decodeCbor(Uint8Array.of(0x82, 0x01, 0x02)) // → [1, 2]
 */
export function decodeCbor(bytes: Uint8Array): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new CallError('EINPUT', `CBOR: expected bytes, got ${typeof bytes}`);
  if (bytes.length === 0) throw new CallError('EINPUT', 'CBOR: expected one data item, got 0 bytes');
  checkDepth(bytes);
  try {
    return decode(bytes, decodeOptions) as CborValue;
  } catch (e) {
    throw new CallError('EINPUT', `CBOR: ${(e as Error).message}`, { length: bytes.length }, { cause: e });
  }
}

/**
 * Reject nesting deeper than MAX_CBOR_DEPTH before decoding, so hostile input cannot exhaust the
 * stack. A linear scan of the item heads; it need not validate, decode does that.
 */
function checkDepth(bytes: Uint8Array): void {
  // A stack of remaining item counts per open container.
  const remaining: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let arg = info;
    if (info >= 24 && info <= 27) {
      const size = 1 << (info - 24);
      if (pos + size > bytes.length) return; // truncated: decode reports it
      arg = 0;
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]!;
      pos += size;
    } else if (info > 27) {
      return; // indefinite or reserved: decode reports it
    }
    let children = 0;
    if (major === 2 || major === 3) pos += arg;
    else if (major === 4) children = arg;
    else if (major === 5) children = arg * 2;
    else if (major === 6) children = 1;
    // This item fills one slot of its parent. A parent whose last slot is a container stays open
    // until that container closes, so full containers are popped only after a leaf.
    if (remaining.length > 0) remaining[remaining.length - 1]!--;
    if (children > 0) {
      remaining.push(children);
      if (remaining.length > MAX_CBOR_DEPTH) {
        throw new CallError('EINPUT', `CBOR: nesting deeper than ${MAX_CBOR_DEPTH} levels`, { maxDepth: MAX_CBOR_DEPTH });
      }
      continue;
    }
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) remaining.pop();
    if (remaining.length === 0) return;
  }
}
