/** Decoding the payload of a `signature` section, strictly and with typed errors. */
import { ED25519_SIGNATURE_LENGTH } from '../keys/ed25519.js';
import { Cursor, malformed } from './cursor.js';
import {
  ALG_ED25519,
  CONTENT_TYPE_MODULE,
  HASH_LENGTH,
  HASH_SHA256,
  MAX_HASHES,
  MAX_SIGNATURES,
  MAX_SIGNED_HASH_SETS,
  SPEC_VERSION,
  type SignatureData,
  type SignatureEntry,
  type SignedHashSet,
} from './format.js';

const byteHex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

/** A header byte that must have one value. */
function expectByte(c: Cursor, field: string, expected: number, meaning: string): void {
  const at = c.offset;
  const got = c.byte(field);
  if (got !== expected) throw malformed(`${field}: expected ${byteHex(expected)} (${meaning}), got ${byteHex(got)}`, at);
}

function decodeSignature(c: Cursor): SignatureEntry {
  const keyIdLength = c.u32('key_id_len');
  const keyId = keyIdLength === 0 ? undefined : c.take(keyIdLength, 'key_id');
  const algorithm = c.byte('signature_id');
  const at = c.offset;
  const signature = c.take(c.u32('signature_len'), 'signature');
  if (algorithm === ALG_ED25519 && signature.length !== ED25519_SIGNATURE_LENGTH) {
    throw malformed(`Ed25519 signature: expected ${ED25519_SIGNATURE_LENGTH} bytes, got ${signature.length}`, at);
  }
  c.end('signature');
  return keyId ? { keyId, algorithm, signature } : { algorithm, signature };
}

function decodeSet(c: Cursor): SignedHashSet {
  const hashCount = c.count('hashes_count', MAX_HASHES, HASH_LENGTH);
  const hashes = Array.from({ length: hashCount }, () => c.take(HASH_LENGTH, 'hash'));
  // Each signature record is at least its length prefix: one byte.
  const signatureCount = c.count('signatures_count', MAX_SIGNATURES, 1);
  const signatures = Array.from({ length: signatureCount }, () => decodeSignature(c.nested('signature')));
  c.end('signed hash set');
  return { hashes, signatures };
}

/**
 * Decode a `signature` section payload. `base` is the payload's offset in the module, for messages.
 * Throws `ESIGNATURE` (check 'signature') naming the field, the offset, what was expected and what came.
 * @example
 * const { sets } = decodeSignatureData(section.payload)
 */
export function decodeSignatureData(payload: Uint8Array, base = 0): SignatureData {
  const c = new Cursor(payload, base);
  expectByte(c, 'spec_version', SPEC_VERSION, 'Signatures.md version 1');
  expectByte(c, 'content_type', CONTENT_TYPE_MODULE, 'WebAssembly module');
  expectByte(c, 'hash_fn', HASH_SHA256, 'SHA-256');
  const setCount = c.count('signed_hashes_count', MAX_SIGNED_HASH_SETS, 1);
  const sets = Array.from({ length: setCount }, () => decodeSet(c.nested('signed_hashes')));
  c.end('signature data');
  return { sets };
}
