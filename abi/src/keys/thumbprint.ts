/**
 * RFC 7638 JWK thumbprints: the key id of an Ed25519 key is base64url(SHA-256) of the canonical JSON
 * of its required members `{"crv","kty","x"}` (RFC 8037 §2), so anyone can recompute it from the key.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import canonicalize from 'canonicalize';
import { base64urlEncode } from './base64url.js';

const utf8 = new TextEncoder();

/**
 * The RFC 7638 thumbprint of an OKP JWK. Members other than crv, kty and x are ignored, as the RFC says.
 * @example
 * jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })
 * // 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
 */
export function jwkThumbprint(jwk: { kty: string; crv: string; x: string }): string {
  // RFC 8785 canonical JSON sorts members and drops whitespace: exactly RFC 7638's required form.
  const json = canonicalize({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })!;
  return base64urlEncode(sha256(utf8.encode(json)));
}

/**
 * The thumbprint of a raw 32-byte Ed25519 public key.
 * @example
 * const kid = ed25519Thumbprint(publicKeyBytes)
 */
export function ed25519Thumbprint(publicKey: Uint8Array): string {
  return jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(publicKey) });
}
