/**
 * Signing and verifying agreements on the host: Ed25519 over the RFC 8785 canonical JSON of the
 * document without its `signatures` member. Each party is a key id and must sign with that key,
 * and the two are different keys, so a verified agreement says which two key holders agreed. The
 * plugin verifies the same bytes itself (it recomputes them; it never takes them from the host);
 * this side is for the CLI and clients.
 */
import canonicalize from 'canonicalize';
import { ed25519Sign, ed25519Verify } from '../keys/ed25519.js';
import { base64urlDecode, base64urlEncode } from '../keys/base64url.js';
import { publicKeyFromBytes } from '../keys/key.js';
import type { PrivateKey } from '../keys/types.js';
import { AgreementError, validateAgreement } from './document.js';
import type { Agreement, AgreementParty } from './types.js';

/** A key id is an RFC 7638 thumbprint: 43 base64url characters (SHA-256). */
const KEY_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * True when a text has the form of a key id (every consumer and provider must).
 * @example
 * isKeyId('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k') // true; isKeyId('acme.notes') // false
 */
export function isKeyId(party: string): boolean {
  return KEY_ID.test(party);
}

/**
 * The bytes both parties sign: canonical JSON of the validated document minus `signatures`.
 * @example
 * const msg = agreementSigningBytes(doc) // Uint8Array of '{"consumer":…}'
 */
export function agreementSigningBytes(doc: Agreement): Uint8Array {
  const { signatures: _ignored, ...body } = validateAgreement(doc);
  return new TextEncoder().encode(canonicalize(body)!);
}

/**
 * The document with `party`'s signature by `key` added (replacing an earlier one by that party).
 * Refuses a key that is not the party's key id.
 * @example
 * const signed = signAgreement(signAgreement(doc, consumerKey, 'consumer'), providerKey, 'provider')
 */
export function signAgreement(doc: Agreement, key: PrivateKey, party: AgreementParty): Agreement {
  // Validated first, so a party that is not a key id is reported as that, not as a wrong key.
  const id = validateAgreement(doc)[party];
  if (id !== key.kid) {
    throw new AgreementError('ESIGNATURE', `agreement ${party} is the key ${id}, but the signing key is ${key.kid}`, { party, expected: id, got: key.kid });
  }
  const sig = ed25519Sign(agreementSigningBytes(doc), key.seed);
  const others = (doc.signatures ?? []).filter((s) => s.party !== party);
  const signatures = [...others, { party, key: base64urlEncode(key.publicKey.bytes), sig: base64urlEncode(sig) }].sort((a, b) => (a.party < b.party ? -1 : 1));
  return { ...doc, signatures };
}

/**
 * What a successful verification establishes: the key id of each party's signer.
 * @example
 * const { consumerKey }: VerifiedAgreement = verifyAgreement(doc)
 */
export interface VerifiedAgreement {
  agreement: Agreement;
  consumerKey: string;
  providerKey: string;
}

/**
 * Verify both signatures; throws `ESIGNATURE` naming the first party whose signature is missing,
 * invalid, by an unusable key, or by a key other than the party's key id (and `EINPUT` for a
 * document that breaks the schema, or names one key as both parties).
 * @example
 * const { consumerKey, providerKey } = verifyAgreement(JSON.parse(text))
 */
export function verifyAgreement(value: unknown): VerifiedAgreement {
  const agreement = validateAgreement(value);
  const msg = agreementSigningBytes(agreement);
  const kids: Partial<Record<AgreementParty, string>> = {};
  for (const party of ['consumer', 'provider'] as const) {
    const entry = (agreement.signatures ?? []).find((s) => s.party === party);
    if (!entry)
      throw new AgreementError('ESIGNATURE', `agreement ${agreement.id}: expected signatures by the consumer and the provider, the ${party}'s is missing`, {
        party,
      });
    let kid: string;
    try {
      kid = publicKeyFromBytes(base64urlDecode(entry.key, `${party} key`)).kid;
    } catch (e) {
      throw new AgreementError('ESIGNATURE', `agreement ${agreement.id}: the ${party}'s key is unusable (${(e as Error).message})`, { party }, { cause: e });
    }
    if (!ed25519Verify(base64urlDecode(entry.sig, `${party} sig`), msg, base64urlDecode(entry.key, `${party} key`))) {
      throw new AgreementError('ESIGNATURE', `agreement ${agreement.id}: the ${party}'s signature does not verify (tampered, or signed by another key)`, {
        party,
      });
    }
    const id = agreement[party];
    if (id !== kid)
      throw new AgreementError('ESIGNATURE', `agreement ${agreement.id}: the ${party} is the key ${id}, but its signature is by ${kid}`, {
        party,
        expected: id,
        got: kid,
      });
    kids[party] = kid;
  }
  // Unreachable while the parties differ and each signed with its own key; kept so that no change
  // to those rules can let one key stand on both sides unnoticed.
  if (kids.consumer === kids.provider) {
    throw new AgreementError(
      'ESIGNATURE',
      `agreement ${agreement.id}: expected the consumer and the provider to sign with two different keys, got ${kids.consumer!} for both`,
      { expected: 'two keys', got: kids.consumer },
    );
  }
  return { agreement, consumerKey: kids.consumer!, providerKey: kids.provider! };
}
