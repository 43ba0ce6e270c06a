/** Byte helpers shared by the key and signature layers. */
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * Lower-case hex of bytes, for messages and ids.
 * @example
 * hex(Uint8Array.of(1, 255)) // '01ff'
 */
export function hex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/**
 * True when two byte arrays hold the same bytes. Not constant-time: only public values
 * (hashes, public keys, key ids) are compared.
 * @example
 * equalBytes(stored, computed)
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
