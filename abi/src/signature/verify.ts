/**
 * Verifying a signed module against a list of trusted keys (DESIGN §2 checks "the signature
 * verifies" then "the signer is trusted").
 *
 * How each signature in a set that covers the module is judged:
 * - it names a key id (wasmsign2's 12-byte id) of a trusted key: it must verify under that key;
 *   if it does, the key is a signer, if not, the signature is bad (tampered);
 * - it names no key id: it is tried under every trusted key;
 * - otherwise it cannot be checked at all: an Ed25519 public key cannot be recovered from a
 *   signature, so a signature by a key we do not hold is reported as untrusted, by its key id.
 * The outcome: any trusted signer → success; else any bad signature → `ESIGNATURE`; else any
 * unverifiable signature → `EUNTRUSTED` listing the key ids found; else `ESIGNATURE`.
 * Signatures with an algorithm other than Ed25519 are unverifiable too.
 */
import { LoadError, UsageError, describe } from '../errors/index.js';
import { equalBytes, hex } from '../keys/bytes.js';
import { ed25519Verify } from '../keys/ed25519.js';
import type { PublicKey } from '../keys/types.js';
import { wasmsign2KeyId } from '../keys/wasmsign2.js';
import { decodeSignatureData } from './decode.js';
import { ALG_ED25519, type SignatureEntry } from './format.js';
import { contentHashes } from './hash.js';
import { payloadOffset, signatureLayout } from './layout.js';
import { signedMessage } from './message.js';

/** What {@link verifyModule} found. */
export interface Verified {
  /** RFC 7638 thumbprints of the trusted keys with a valid signature, in trust-list order. */
  readonly signers: string[];
}

/** How a signature without a trusted key is named: its key id in hex, or 'anonymous'. */
const nameOf = (entry: SignatureEntry) => (entry.keyId ? hex(entry.keyId) : 'anonymous');

function signatureError(message: string, details: Record<string, unknown> = {}): LoadError {
  return new LoadError('ESIGNATURE', message, { check: 'signature', ...details });
}

/**
 * Verify `module`'s embedded signatures against `trusted` keys. Throws `ESIGNATURE` (check
 * 'signature') when the section is missing, misplaced or malformed, when no signed hash matches the
 * module's content, or when a signature by a trusted key does not verify; throws `EUNTRUSTED`
 * (check 'trust', `signers`: key ids found) when the signatures are by no trusted key.
 * @example
 * const { signers } = verifyModule(bytes, trustList.keys) // ['kPrK_qmxVWaY…']
 */
export function verifyModule(module: Uint8Array, trusted: readonly PublicKey[]): Verified {
  if (!Array.isArray(trusted) || !trusted.every((k) => k?.type === 'public')) {
    throw new UsageError('EUSAGE', `verifyModule: expected an array of public keys, got ${describe(trusted)}`);
  }
  const layout = signatureLayout(module);
  if (!layout.signature) throw signatureError('module is not signed: expected a "signature" custom section first, got none');
  const { sets } = decodeSignatureData(layout.signature.payload, payloadOffset(layout.signature));
  const hashes = contentHashes(module, layout.content);
  const whole = hashes[hashes.length - 1]!;

  const covering = sets.filter((set) => set.hashes.some((h) => equalBytes(h, whole)));
  if (covering.length === 0) {
    const stored = sets.flatMap((set) => set.hashes.map(hex));
    throw signatureError(
      stored.length === 0
        ? 'signature section holds no signed hashes'
        : `content hash mismatch: the signatures cover ${stored.join(', ')}, got ${hex(whole)} (the module changed after signing)`,
      { expected: stored, got: hex(whole) },
    );
  }

  const ids = trusted.map((key) => wasmsign2KeyId(key));
  const valid = new Set<string>();
  const bad: string[] = [];
  const unknown: string[] = [];
  for (const set of covering) {
    const message = signedMessage(set.hashes);
    for (const entry of set.signatures) {
      const candidates = entry.algorithm !== ALG_ED25519 ? [] : trusted.filter((_, i) => !entry.keyId || equalBytes(entry.keyId, ids[i]!));
      const signer = candidates.find((key) => ed25519Verify(entry.signature, message, key.bytes));
      if (signer) valid.add(signer.kid);
      else if (entry.keyId && candidates.length > 0) bad.push(...candidates.map((key) => key.kid));
      else unknown.push(nameOf(entry));
    }
  }

  if (valid.size > 0) return { signers: trusted.filter((k) => valid.has(k.kid)).map((k) => k.kid).filter((kid, i, all) => all.indexOf(kid) === i) };
  if (bad.length > 0) throw signatureError(`signature does not verify: expected a valid Ed25519 signature by trusted key ${bad.join(', ')}, got an invalid one`, { keys: bad });
  if (unknown.length > 0) {
    const signers = [...new Set(unknown)];
    throw new LoadError(
      'EUNTRUSTED',
      `module is signed by no trusted key: expected a signature by ${trusted.length === 0 ? 'a trusted key (the trust list is empty)' : `one of ${trusted.map((k) => k.kid).join(', ')}`}, got signatures by key id ${signers.join(', ')} (wasmsign2 key ids, hex)`,
      { check: 'trust', signers, trusted: trusted.map((k) => k.kid) },
    );
  }
  throw signatureError('signature section holds no signatures for this module\'s content');
}
