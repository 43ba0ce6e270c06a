/** Ed25519 signing keys: JWK files (RFC 8037), RFC 7638 key ids, and wasmsign2's key formats. */
export type { PrivateJwk, PrivateKey, PublicJwk, PublicKey } from './types.js';
export { generateKeyPair, privateKeyFromSeed, publicKeyFromBytes, publicKeyOf } from './key.js';
export { ed25519Thumbprint, jwkThumbprint } from './thumbprint.js';
export { hex, equalBytes } from './bytes.js';
export { formatJwk, parseJwk, parsePrivateJwk, parsePublicJwk, toJwk, toPublicJwk } from './jwk.js';
export { readKeyFile, writeKeyFile } from './file.js';
export {
  fromWasmsign2PublicKey,
  fromWasmsign2SecretKey,
  toWasmsign2PublicKey,
  toWasmsign2SecretKey,
  wasmsign2KeyId,
  WASMSIGN2_KEY_ID_LENGTH,
  WASMSIGN2_PUBLIC_KEY_TAG,
  WASMSIGN2_SECRET_KEY_TAG,
} from './wasmsign2.js';
export { ed25519PublicKey, ed25519Sign, ed25519Verify, ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH, ED25519_SIGNATURE_LENGTH } from './ed25519.js';
