/** Removing embedded signatures, e.g. to re-sign a module that changed. */
import { removeCustomSections } from '../wasm/sections.js';
import { SIGNATURE_SECTION } from './format.js';

/**
 * A copy of `module` without its `signature` section(s). Delimiter sections stay: they are
 * content, covered by the hashes. Throws `ENOTWASM` for non-modules.
 * @example
 * const resigned = signModule(stripSignatures(changed), key)
 */
export function stripSignatures(module: Uint8Array): Uint8Array {
  return removeCustomSections(module, SIGNATURE_SECTION);
}
