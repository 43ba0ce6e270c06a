/**
 * Where the signature sits in a module. Signatures.md puts the `signature` section first, so
 * everything after it is signed; a `signature` section anywhere else is refused rather than
 * guessed at (wasmsign2 would silently drop it when signing, and ignore it when verifying).
 */
import { LoadError } from '../errors/index.js';
import { parseSections, type WasmSection } from '../wasm/sections.js';
import { SIGNATURE_SECTION } from './format.js';

/** A module split into its signature section (if any) and the signed content after it. */
export interface SignatureLayout {
  /** The leading `signature` custom section. */
  readonly signature?: WasmSection;
  /** Every other section, in order: what the hashes cover. */
  readonly content: readonly WasmSection[];
}

const isSignatureSection = (s: WasmSection) => s.id === 0 && s.name === SIGNATURE_SECTION;

/**
 * Split a module. Throws `ENOTWASM` for bytes that are not a module and `ESIGNATURE` for a
 * `signature` section that is not the first section.
 * @example
 * const { signature, content } = signatureLayout(bytes)
 */
export function signatureLayout(module: Uint8Array): SignatureLayout {
  const sections = parseSections(module);
  const misplaced = sections.findIndex((s, i) => i > 0 && isSignatureSection(s));
  if (misplaced !== -1) {
    const at = sections[misplaced]!.start;
    throw new LoadError(
      'ESIGNATURE',
      `malformed signature section: expected the "signature" section first, got one at section index ${misplaced} (offset ${at})`,
      {
        check: 'signature',
        offset: at,
      },
    );
  }
  const first = sections[0];
  return first && isSignatureSection(first) ? { signature: first, content: sections.slice(1) } : { content: sections };
}

/**
 * Offset of a section's payload in the module (payloads are views, so this is arithmetic).
 * @example
 * decodeSignatureData(section.payload, payloadOffset(section))
 */
export function payloadOffset(section: WasmSection): number {
  return section.end - section.payload.length;
}
