/** What an Ed25519 signature actually signs (Signatures.md, wasmsign2 `build_header_section`). */
import { concatBytes } from '../wasm/sections.js';
import { CONTENT_TYPE_MODULE, HASH_SHA256, SIGNATURE_DOMAIN, SPEC_VERSION } from './format.js';

const PREFIX = concatBytes(new TextEncoder().encode(SIGNATURE_DOMAIN), Uint8Array.of(SPEC_VERSION, CONTENT_TYPE_MODULE, HASH_SHA256));

/**
 * The signed message: `"wasmsig" ‖ 0x01 ‖ 0x01 ‖ 0x01 ‖ h1 ‖ … ‖ hn` — the domain, spec version,
 * content type and hash function bytes, then the set's 32-byte hashes. Not the module header.
 * @example
 * ed25519Sign(signedMessage([hash]), key.seed)
 */
export function signedMessage(hashes: readonly Uint8Array[]): Uint8Array {
  return concatBytes(PREFIX, ...hashes);
}
