/**
 * wasmsign2's own key encodings (Signatures.md "key serialization", wasmsign2 `keys.rs`) and its
 * key id, so keys can move between `mcp0` and `wasmsign2` and signatures match on both sides:
 * - public key file: `0x01 ‖ public key (32)`, 33 bytes;
 * - secret key file: `0x81 ‖ seed (32) ‖ public key (32)`, 65 bytes (the tag is 0x81, not 0x01);
 * - key id: the first 12 bytes of HMAC-SHA256(key = public key, message = "key_id")
 *   (`attach_default_key_id`). `wasmsign2 verify` always gives the key this id and skips any
 *   signature that names a different one, so it is the id we embed in signatures.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, UsageError } from '../errors/index.js';
import { equalBytes, hex } from './bytes.js';
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH } from './ed25519.js';
import { privateKeyFromSeed, publicKeyFromBytes, publicKeyOf } from './key.js';
import type { PrivateKey, PublicKey } from './types.js';

/** Type tag of a wasmsign2 public key. */
export const WASMSIGN2_PUBLIC_KEY_TAG = 0x01;
/** Type tag of a wasmsign2 key pair ("secret key"). */
export const WASMSIGN2_SECRET_KEY_TAG = 0x81;
/** Length of wasmsign2's default key id. */
export const WASMSIGN2_KEY_ID_LENGTH = 12;

const KEY_ID_MESSAGE = new TextEncoder().encode('key_id');

/** Check the tag byte and total length of a wasmsign2 key file. */
function checkTagged(bytes: Uint8Array, tag: number, length: number, what: string): void {
  abytes(bytes, undefined, what);
  if (bytes[0] !== tag) {
    const got = bytes.length === 0 ? 'an empty file' : `0x${bytes[0]!.toString(16).padStart(2, '0')}`;
    throw new UsageError('EUSAGE', `${what}: expected type tag 0x${tag.toString(16)}, got ${got}`, { expected: tag, got: bytes[0] });
  }
  if (bytes.length !== length)
    throw new UsageError('EUSAGE', `${what}: expected ${length} bytes, got ${bytes.length}`, { expected: length, got: bytes.length });
}

/**
 * wasmsign2's key id of a key: 12 bytes, as `wasmsign2 sign -K` embeds and `wasmsign2 verify` expects.
 * @example
 * hex(wasmsign2KeyId(key)) // e.g. '5e1c…' (24 hex digits)
 */
export function wasmsign2KeyId(key: PrivateKey | PublicKey): Uint8Array {
  return hmac(sha256, publicKeyOf(key).bytes, KEY_ID_MESSAGE).slice(0, WASMSIGN2_KEY_ID_LENGTH);
}

/**
 * A key in wasmsign2's public key file format (`-K`): 33 bytes.
 * @example
 * await writeFile('key.public', toWasmsign2PublicKey(key))
 */
export function toWasmsign2PublicKey(key: PrivateKey | PublicKey): Uint8Array {
  return Uint8Array.of(WASMSIGN2_PUBLIC_KEY_TAG, ...publicKeyOf(key).bytes);
}

/**
 * A private key in wasmsign2's secret key file format (`-k`): 65 bytes.
 * @example
 * await writeFile('key.secret', toWasmsign2SecretKey(key), { mode: 0o600 })
 */
export function toWasmsign2SecretKey(key: PrivateKey): Uint8Array {
  return Uint8Array.of(WASMSIGN2_SECRET_KEY_TAG, ...key.seed, ...key.publicKey.bytes);
}

/**
 * Parse a wasmsign2 public key file.
 * @example
 * const pub = fromWasmsign2PublicKey(await readFile('key.public'))
 */
export function fromWasmsign2PublicKey(bytes: Uint8Array): PublicKey {
  checkTagged(bytes, WASMSIGN2_PUBLIC_KEY_TAG, 1 + ED25519_PUBLIC_KEY_LENGTH, 'wasmsign2 public key');
  return publicKeyFromBytes(bytes.subarray(1));
}

/**
 * Parse a wasmsign2 secret key file. Its stored public half must match the seed: wasmsign2 signs
 * with the stored half unchecked, so a mismatch would only produce signatures nobody can verify.
 * @example
 * const key = fromWasmsign2SecretKey(await readFile('key.secret'))
 */
export function fromWasmsign2SecretKey(bytes: Uint8Array): PrivateKey {
  checkTagged(bytes, WASMSIGN2_SECRET_KEY_TAG, 1 + ED25519_SEED_LENGTH + ED25519_PUBLIC_KEY_LENGTH, 'wasmsign2 secret key');
  const key = privateKeyFromSeed(bytes.subarray(1, 1 + ED25519_SEED_LENGTH));
  const stored = bytes.subarray(1 + ED25519_SEED_LENGTH);
  if (!equalBytes(stored, key.publicKey.bytes)) {
    throw new UsageError('EUSAGE', `wasmsign2 secret key: expected public half ${hex(key.publicKey.bytes)} (derived from the seed), got ${hex(stored)}`, {
      expected: hex(key.publicKey.bytes),
      got: hex(stored),
    });
  }
  return key;
}
