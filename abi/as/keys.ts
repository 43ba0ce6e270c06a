/**
 * Key ids (ARCHITECTURE.md §2): an Ed25519 key is named by its RFC 7638 thumbprint, the SHA-256 of
 * the canonical JWK `{"crv":"Ed25519","kty":"OKP","x":…}` in unpadded base64url, 43 characters.
 * Plugins that check who signed something (agreements' parties, rpc envelopes' callers) compute it
 * here, through the host's `crypto_sha256`, so every plugin names a key the way the host does
 * (`ed25519Thumbprint` in @mcp0/abi).
 */
import { base64urlEncode } from "./base64url";
import { sha256 } from "./host";
import { Err, Result, failure, success } from "./result";

/** The length of a key id: 32 bytes of SHA-256 in unpadded base64url. */
export const KEY_ID_LENGTH: i32 = 43;

/** The length of an Ed25519 public key. */
export const ED25519_KEY_BYTES: i32 = 32;

/** What a key id must be, for error messages: `"caller" ` + KEY_ID_EXPECTED + `, got …`. */
export const KEY_ID_EXPECTED = "expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters)";

/**
 * True when `s` has the shape of a key id: 43 characters of the base64url alphabet. (Whether a key
 * has that id is `keyIdOf`'s to say.)
 * @example
 * if (!isKeyId(s)) return fail("EINPUT", '"consumer" ' + KEY_ID_EXPECTED + ", got " + s);
 */
export function isKeyId(s: string): bool {
  if (s.length != KEY_ID_LENGTH) return false;
  for (let i = 0; i < KEY_ID_LENGTH; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/**
 * The key id of a 32-byte Ed25519 public key (needs the `crypto` capability). EINPUT for a key of
 * another length; the host's error (EPERM without the grant) when `crypto_sha256` fails.
 * @example
 * const kid = keyIdOf(key); if (!kid.ok) return failWith(kid.error!);
 * if (kid.value != caller) return fail("ESIGNATURE", "…");
 */
export function keyIdOf(publicKey: Uint8Array): Result<string> {
  if (publicKey.length != ED25519_KEY_BYTES) {
    return failure<string>(new Err("EINPUT", "key id: expected a 32-byte Ed25519 public key, got " + publicKey.length.toString() + " bytes"), "");
  }
  const jwk = '{"crv":"Ed25519","kty":"OKP","x":"' + base64urlEncode(publicKey) + '"}';
  const h = sha256(Uint8Array.wrap(String.UTF8.encode(jwk)));
  if (!h.ok) return failure<string>(h.error!, "");
  if (h.value.length != 32) return failure<string>(new Err("EINTERNAL", "crypto_sha256: expected 32 bytes, got " + h.value.length.toString()), "");
  return success<string>(base64urlEncode(h.value));
}
