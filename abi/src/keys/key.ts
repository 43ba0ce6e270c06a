/** Making key objects: from raw bytes, from a seed, or freshly generated. */
import { abytes, UsageError } from '../errors/index.js';
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH, ed25519PublicKey, ed25519PublicKeyProblem, randomSeed } from './ed25519.js';
import { ed25519Thumbprint } from './thumbprint.js';
import type { PrivateKey, PublicKey } from './types.js';

/**
 * A public key from its 32 raw bytes. Throws `EUSAGE` for a wrong length, a non-point or a
 * small-order point, since such a key could never stand for a real signer.
 * @example
 * const pub = publicKeyFromBytes(bytes)
 * pub.kid // 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
 */
export function publicKeyFromBytes(bytes: Uint8Array): PublicKey {
  abytes(bytes, ED25519_PUBLIC_KEY_LENGTH, 'Ed25519 public key');
  const problem = ed25519PublicKeyProblem(bytes);
  if (problem) throw new UsageError('EUSAGE', `Ed25519 public key: expected a valid curve point, got ${problem}`, { problem });
  const copy = new Uint8Array(bytes);
  return Object.freeze({ type: 'public', bytes: copy, kid: ed25519Thumbprint(copy) });
}

/**
 * A private key from its 32-byte RFC 8032 seed; the public half is derived.
 * @example
 * const key = privateKeyFromSeed(seed)
 * key.publicKey.bytes // Uint8Array(32)
 */
export function privateKeyFromSeed(seed: Uint8Array): PrivateKey {
  abytes(seed, ED25519_SEED_LENGTH, 'Ed25519 seed');
  const copy = new Uint8Array(seed);
  const publicKey = publicKeyFromBytes(ed25519PublicKey(copy));
  return Object.freeze({ type: 'private', seed: copy, publicKey, kid: publicKey.kid });
}

/**
 * A new random key pair.
 * @example
 * const key = generateKeyPair()
 * const signed = signModule(module, key)
 */
export function generateKeyPair(): PrivateKey {
  return privateKeyFromSeed(randomSeed());
}

/**
 * The public half of a key (a public key is returned as is).
 * @example
 * const trusted = [publicKeyOf(key)]
 */
export function publicKeyOf(key: PrivateKey | PublicKey): PublicKey {
  return key.type === 'private' ? key.publicKey : key;
}
