/** Encoding signature data the way wasmsign2 does, length prefixes included. */
import { concatBytes } from '../wasm/sections.js';
import { encodeU32 } from '../wasm/leb128.js';
import { CONTENT_TYPE_MODULE, HASH_SHA256, SPEC_VERSION, type SignatureData, type SignatureEntry, type SignedHashSet } from './format.js';

/** A varuint32 length, then the bytes. */
function withLength(bytes: Uint8Array): Uint8Array {
  return concatBytes(encodeU32(bytes.length), bytes);
}

function encodeSignature(entry: SignatureEntry): Uint8Array {
  return concatBytes(withLength(entry.keyId ?? new Uint8Array(0)), Uint8Array.of(entry.algorithm), withLength(entry.signature));
}

function encodeSet(set: SignedHashSet): Uint8Array {
  return concatBytes(
    encodeU32(set.hashes.length),
    ...set.hashes,
    encodeU32(set.signatures.length),
    ...set.signatures.map((s) => withLength(encodeSignature(s))),
  );
}

/**
 * The payload of a `signature` section.
 * @example
 * const payload = encodeSignatureData({ sets: [{ hashes: [h], signatures: [entry] }] })
 */
export function encodeSignatureData(data: SignatureData): Uint8Array {
  return concatBytes(
    Uint8Array.of(SPEC_VERSION, CONTENT_TYPE_MODULE, HASH_SHA256),
    encodeU32(data.sets.length),
    ...data.sets.map((set) => withLength(encodeSet(set))),
  );
}
