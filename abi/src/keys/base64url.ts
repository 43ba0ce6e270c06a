/**
 * Strict base64url without padding (RFC 7515 §2, used by JWK members). Node's decoder silently
 * skips bad characters and accepts non-zero trailing bits; key material must round-trip exactly.
 */
import { UsageError } from '../errors/index.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Encode bytes as unpadded base64url.
 * @example
 * base64urlEncode(Uint8Array.of(0xfb, 0xff)) // '-_8'
 */
export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decode unpadded base64url, rejecting anything that does not re-encode to the same text.
 * `what` names the value in the error, e.g. 'JWK "x"'.
 * @example
 * base64urlDecode('-_8', 'JWK "x"') // Uint8Array [0xfb, 0xff]
 */
export function base64urlDecode(text: string, what: string): Uint8Array {
  if (!ALPHABET.test(text) || text.length % 4 === 1) {
    throw new UsageError('EUSAGE', `${what}: expected unpadded base64url, got ${JSON.stringify(text.slice(0, 60))}`, { got: text });
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  // Non-zero padding bits would give two spellings of one key, and two thumbprints.
  if (base64urlEncode(bytes) !== text) {
    throw new UsageError('EUSAGE', `${what}: not canonical base64url (non-zero trailing bits) in ${JSON.stringify(text.slice(0, 60))}`, { got: text });
  }
  return bytes;
}
