/**
 * The one place that wires @noble/ed25519 to a synchronous SHA-512, so every other module can use
 * the synchronous API (v3 ships without a sync hash). Import Ed25519 from here, never directly.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

/** Byte lengths fixed by RFC 8032. */
export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

/**
 * The public key of a 32-byte RFC 8032 secret seed.
 * @example
 * const pub = ed25519PublicKey(seed) // Uint8Array(32)
 */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/**
 * Sign `message` with a 32-byte seed: pure Ed25519 (RFC 8032 §5.1.6), deterministic.
 * @example
 * const sig = ed25519Sign(new TextEncoder().encode('hi'), seed) // Uint8Array(64)
 */
export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

/**
 * Verify a signature. Uses the strict RFC 8032 rules (`zip215: false`), not noble's ZIP-215 default,
 * so that what we accept is what a strict verifier such as wasmsign2's ed25519-compact accepts.
 * Returns false (never throws) for any malformed input: a hostile signature is just invalid.
 * @example
 * if (!ed25519Verify(sig, message, pub)) throw new Error('bad signature')
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_LENGTH || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Why a 32-byte string is unusable as a public key, or undefined when it is fine: it must decode to
 * a curve point and must not be of small order (such a key "verifies" forged signatures).
 * @example
 * const problem = ed25519PublicKeyProblem(bytes) // 'not a point on the curve' | undefined
 */
export function ed25519PublicKeyProblem(publicKey: Uint8Array): string | undefined {
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(publicKey);
  } catch {
    return 'not a point on the Ed25519 curve';
  }
  return point.isSmallOrder() ? 'a small-order point (a weak key)' : undefined;
}

/**
 * 32 random bytes from the platform's CSPRNG, for a new seed.
 * @example
 * const seed = randomSeed()
 */
export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}
