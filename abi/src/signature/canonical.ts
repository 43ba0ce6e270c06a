/**
 * Re-encoding section headers in minimal LEB128, as wasmsign2 does when it signs (it re-serializes
 * every section). Linkers such as wasm-ld pad section sizes to 5 bytes; after this, both tools hash
 * the very same bytes, so a module we sign is byte-identical to what `wasmsign2 sign` would write.
 */
import { concatBytes, encodeCustomSection, encodeSection, WASM_HEADER, type WasmSection } from '../wasm/sections.js';

/**
 * A module made of the header and `sections`, each with a minimal header.
 * @example
 * const tidy = canonicalModule(signatureLayout(bytes).content)
 */
export function canonicalModule(sections: readonly WasmSection[]): Uint8Array {
  return concatBytes(WASM_HEADER, ...sections.map((s) => (s.id === 0 ? encodeCustomSection(s.name!, s.payload) : encodeSection(s.id, s.payload))));
}
