/**
 * The rolling SHA-256 of the signed content (Signatures.md "Parts and delimiters"): one hash at
 * each `signature_delimiter`, accumulated from the first section after the signature, and a final
 * one when the module does not end with a delimiter — the same list wasmsign2 signs. The last hash
 * covers the whole content, but a set covers the module only when it holds this whole list
 * (cover.ts): an inner hash is the last hash of the module cut off at that delimiter.
 * Hashed are the sections' bytes as they are, not the 8-byte module header.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { WasmSection } from '../wasm/sections.js';
import { DELIMITER_SECTION } from './format.js';

/**
 * The rolling hashes of `content` (sections of `module`). Never empty.
 * @example
 * const hashes = contentHashes(bytes, signatureLayout(bytes).content)
 * const whole = hashes.at(-1)
 */
export function contentHashes(module: Uint8Array, content: readonly WasmSection[]): Uint8Array[] {
  const hash = sha256.create();
  const hashes: Uint8Array[] = [];
  let lastWasDelimiter = false;
  for (const section of content) {
    hash.update(module.subarray(section.start, section.end));
    lastWasDelimiter = section.id === 0 && section.name === DELIMITER_SECTION;
    if (lastWasDelimiter) hashes.push(hash.clone().digest());
  }
  if (!lastWasDelimiter) hashes.push(hash.digest());
  return hashes;
}
