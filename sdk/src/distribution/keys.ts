/** Keys as a distribution stores them: public Ed25519 JWKs that carry their RFC 7638 key id. */
import { LoadError, Mcp0Error, parsePublicJwk, toJwk, type PublicKey } from '@mcp0/abi';
import type { KeyEntry } from './types.js';

/**
 * The document form of a public key.
 * @example
 * doc.publishers.push(keyEntry(publisher.publicKey)) // { kty: 'OKP', crv: 'Ed25519', x, kid }
 */
export function keyEntry(key: PublicKey): KeyEntry {
  const { kty, crv, x, kid } = toJwk(key);
  return { kty, crv, x, kid: kid! };
}

/**
 * A stored key back as a PublicKey. Throws `EINPUT` (check `check`) when it is not a valid
 * Ed25519 point or its kid is not its thumbprint: a key id that lies would make every message
 * naming it lie too.
 * @example
 * const publishers = doc.publishers.map((k) => entryKey(k, 'publisher'))
 */
export function entryKey(entry: KeyEntry, check: string): PublicKey {
  try {
    return parsePublicJwk(entry);
  } catch (e) {
    const reason = e instanceof Mcp0Error ? e.message : String(e);
    throw new LoadError('EINPUT', `${check} key ${entry.kid}: ${reason}`, { check, kid: entry.kid }, { cause: e });
  }
}
