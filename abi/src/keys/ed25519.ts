/**
 * The one place Ed25519 is computed. Signing and verification run in Node's OpenSSL (`node:crypto`),
 * which is 5-10× faster than pure JS; @noble/ed25519 is kept as the definition of what we accept
 * (strict RFC 8032, `zip215: false`) and decides the cases OpenSSL's rules differ on. Import Ed25519
 * from here, never directly (this file also wires noble to a synchronous SHA-512, which v3 lacks).
 */
import { type KeyObject, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

/** Byte lengths fixed by RFC 8032. */
export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

/** PKCS #8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410 §7). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** L, the prime order of the base point, little-endian: S must be below it (RFC 8032 §5.1.7). */
const ORDER_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
/** How many public keys keep their OpenSSL key object: making one costs about a verification. */
const PUBLIC_KEY_CACHE = 256;

/**
 * A private key object per seed array. Keyed by the array (weakly), so nothing outlives the caller's
 * seed; the copy catches a seed array changed in place since. Making the object costs ~0.5 ms, 15×
 * a signature, and a client signs every call with the same seed.
 */
const privateKeys = new WeakMap<Uint8Array, { seed: Buffer; key: KeyObject }>();

function privateKeyObject(seed: Uint8Array): KeyObject {
  const cached = privateKeys.get(seed);
  if (cached?.seed.equals(seed)) return cached.key;
  if (seed.length !== ED25519_SEED_LENGTH) throw new TypeError(`Ed25519 seed: expected ${ED25519_SEED_LENGTH} bytes, got ${seed.length}`);
  const copy = Buffer.from(seed);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, copy]), format: 'der', type: 'pkcs8' });
  privateKeys.set(seed, { seed: copy, key });
  return key;
}

/**
 * The public key of a 32-byte RFC 8032 secret seed.
 * @example
 * const pub = ed25519PublicKey(seed) // Uint8Array(32)
 */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const jwk = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

/**
 * Sign `message` with a 32-byte seed: pure Ed25519 (RFC 8032 §5.1.6), deterministic, so the bytes
 * are the same whichever implementation makes them (the RFC vectors test this).
 * @example
 * const sig = ed25519Sign(new TextEncoder().encode('hi'), seed) // Uint8Array(64)
 */
export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKeyObject(seed)));
}

/**
 * What we know of a public key: its OpenSSL object; 'refused' when strict verification rejects
 * every signature under it (not a canonical point encoding, or of small order); 'noble' in the
 * unexpected case that OpenSSL will not take a key noble accepts, so noble decides alone.
 */
type PublicKeyEntry = KeyObject | 'refused' | 'noble';
/** Least recently used first: a Map iterates in insertion order, and a hit re-inserts. */
const publicKeys = new Map<string, PublicKeyEntry>();

function publicKeyEntry(publicKey: Uint8Array): PublicKeyEntry {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  const cached = publicKeys.get(id);
  if (cached !== undefined) {
    publicKeys.delete(id);
    publicKeys.set(id, cached);
    return cached;
  }
  const entry = makePublicKeyEntry(publicKey, id);
  if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value as string);
  publicKeys.set(id, entry);
  return entry;
}

function makePublicKeyEntry(publicKey: Uint8Array, x: string): PublicKeyEntry {
  // noble's own strict decoding and small-order test, once per key: OpenSSL accepts non-canonical
  // encodings of A (y >= p, and x = 0 with the sign bit set) and small-order keys, under which the
  // identity-like points "verify" signatures on any message.
  if (ed25519PublicKeyProblem(publicKey) !== undefined) return 'refused';
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    return 'noble';
  }
}

/** Whether the 32 bytes at `at` are a canonical point encoding as far as bytes tell: y < p, and not x = 0 with the sign bit set. */
function canonicalEncoding(bytes: Uint8Array, at: number): boolean {
  const top = bytes[at + 31]! & 0x7f;
  let allOnes = top === 0x7f;
  for (let i = at + 1; allOnes && i < at + 31; i++) allOnes = bytes[i] === 0xff;
  // y >= p = 2^255 − 19: all bytes but the lowest are 0xff (0x7f at the top) and the lowest >= 0xed.
  if (allOnes && bytes[at]! >= 0xed) return false;
  if ((bytes[at + 31]! & 0x80) === 0) return true;
  // Sign bit set: x = 0 exactly when y = 1 or y = p − 1, and −0 is not a canonical x.
  if (allOnes && bytes[at] === 0xec) return false;
  if (bytes[at] !== 1 || top !== 0) return true;
  for (let i = at + 1; i < at + 31; i++) if (bytes[i] !== 0) return true;
  return false;
}

/** Whether S, the signature's second half, is below L (compared from its most significant byte). */
function scalarBelowOrder(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    if (s !== ORDER_LE[i]) return s < ORDER_LE[i]!;
  }
  return false;
}

/**
 * The native half of `ed25519Verify`, exported for its known-answer test: 'accept' when OpenSSL
 * accepts and the pre-checks hold (then strict verification accepts too), 'reject' when a
 * pre-check fails (then it rejects too), 'undecided' when OpenSSL rejects: OpenSSL checks the
 * cofactorless equation R = [S]B − [k]A, strict verification the cofactored [8]R = [8]([S]B − [k]A),
 * which also holds when R or A carries a small-order component, so only the latter can say.
 * @example
 * ed25519VerifyNative(sig, msg, pub) // 'accept' | 'reject' | 'undecided'
 */
export function ed25519VerifyNative(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): 'accept' | 'reject' | 'undecided' {
  if (signature.length !== ED25519_SIGNATURE_LENGTH || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return 'reject';
  const key = publicKeyEntry(publicKey);
  if (key === 'refused') return 'reject';
  // Both are also refused by OpenSSL (R is compared byte for byte with a canonical encoding, S is
  // range-checked); checking them here keeps the expensive strict fallback for signatures that could pass.
  if (!canonicalEncoding(signature, 0) || !scalarBelowOrder(signature)) return 'reject';
  if (key === 'noble') return 'undecided';
  try {
    return nodeVerify(null, message, key, signature) ? 'accept' : 'undecided';
  } catch {
    return 'undecided';
  }
}

/** Strict RFC 8032 verification in pure JS: the definition of what we accept. */
function strictVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Verify a signature. Uses the strict RFC 8032 rules as @noble/ed25519 applies them with
 * `zip215: false` (canonical A and R, S < L, small-order A refused, the cofactored equation), not
 * noble's ZIP-215 default, so that what we accept is what a strict verifier accepts. OpenSSL
 * decides every signature it accepts and every one the pre-checks refuse (the same verdicts, shown
 * on the vectors of ed25519.native.test.ts); the pure-JS check runs only for a signature OpenSSL
 * rejects, since the cofactored equation may still hold. A valid signature costs one native
 * verification; an invalid one costs what it did before. Returns false (never throws) for any
 * malformed input: a hostile signature is just invalid.
 * @example
 * if (!ed25519Verify(sig, message, pub)) throw new Error('bad signature')
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const verdict = ed25519VerifyNative(signature, message, publicKey);
  return verdict === 'accept' || (verdict === 'undecided' && strictVerify(signature, message, publicKey));
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
