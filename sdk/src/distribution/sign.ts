/**
 * The assembler's signature: Ed25519 over the UTF-8 bytes of the document's canonical form
 * (RFC 8785, without `signature`). The signed text travels beside the signature so a verifier can
 * both check it and say what changed since.
 */
import { LoadError, UsageError, describe, ed25519Sign, ed25519Verify, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { canonicalDistribution } from './document.js';
import type { DistributionDocument, DistributionSignature } from './types.js';

const utf8 = new TextEncoder();

/**
 * The document signed by `key`; any earlier signature is replaced. Does no other check: use
 * `lockDistribution` to pin hashes and check the plugins before signing.
 * @example
 * const signed = signDistribution(doc, assemblerKey)
 */
export function signDistribution(doc: DistributionDocument, key: PrivateKey): DistributionDocument {
  if (key?.type !== 'private')
    throw new UsageError('EUSAGE', `signDistribution: expected a private key, got ${key?.type === 'public' ? `public key ${key.kid}` : describe(key)}`);
  const signed = canonicalDistribution(doc);
  const value = Buffer.from(ed25519Sign(utf8.encode(signed), key.seed)).toString('base64url');
  const signature: DistributionSignature = { alg: 'Ed25519', kid: key.kid, value, signed };
  return { ...doc, signature };
}

/**
 * Check the signature itself (not yet whether the document still equals what was signed): the
 * signer must be one of `trusted` (`EUNTRUSTED`) and the signature must verify over `signed`
 * (`ESIGNATURE`). Returns the signing key.
 * @example
 * const signer = verifySignature(doc, [assemblerPublicKey])
 */
export function verifySignature(doc: DistributionDocument, trusted: readonly PublicKey[]): PublicKey {
  const sig = doc.signature;
  if (!sig) throw new LoadError('ESIGNATURE', 'not signed: distribution.json has no signature (run mcp0 dist lock)', { check: 'signature' });
  const signer = trusted.find((k) => k.kid === sig.kid);
  if (!signer) {
    throw new LoadError(
      'EUNTRUSTED',
      `signed by assembler ${sig.kid}, which is not trusted: expected ${trusted.length === 0 ? 'a trusted assembler key (none given)' : `one of ${trusted.map((k) => k.kid).join(', ')}`}`,
      { check: 'trust', kid: sig.kid, trusted: trusted.map((k) => k.kid) },
    );
  }
  const value = Buffer.from(sig.value, 'base64url');
  if (value.length !== 64 || !ed25519Verify(value, utf8.encode(sig.signed), signer.bytes)) {
    throw new LoadError('ESIGNATURE', `signature invalid: the signature or the signed copy was altered (it does not verify under assembler ${sig.kid})`, {
      check: 'signature',
      kid: sig.kid,
    });
  }
  return signer;
}
