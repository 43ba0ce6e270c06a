/** Reading the signatures of a module without verifying them, for `mcp0 inspect`. */
import { hex } from '../keys/bytes.js';
import { coversModule } from './cover.js';
import { decodeSignatureData } from './decode.js';
import { contentHashes } from './hash.js';
import { payloadOffset, signatureLayout } from './layout.js';

/** One signed hash set, as shown to people. */
export interface SignatureSet {
  /** The rolling content hashes this set signs (32 bytes each). */
  readonly hashes: Uint8Array[];
  /**
   * True when the set covers the module as it is now: one hash per part, each matching, in order
   * (the whole-module rule of cover.ts, which verifyModule requires).
   */
  readonly current: boolean;
  readonly signatures: {
    /** The key id in hex (wasmsign2's 12-byte id for keys we sign with), absent when none was given. */
    readonly keyId?: string;
    /** Algorithm id; 1 is Ed25519. */
    readonly algorithm: number;
    readonly signature: Uint8Array;
  }[];
}

/**
 * The signed hash sets of a module, without checking any signature: `[]` when it is unsigned.
 * Throws `ESIGNATURE` when the section is malformed or misplaced, `ENOTWASM` for non-modules.
 * @example
 * for (const set of readSignatures(bytes)) console.log(set.current, set.signatures.map(s => s.keyId))
 */
export function readSignatures(module: Uint8Array): SignatureSet[] {
  const layout = signatureLayout(module);
  if (!layout.signature) return [];
  const { sets } = decodeSignatureData(layout.signature.payload, payloadOffset(layout.signature));
  const hashes = contentHashes(module, layout.content);
  return sets.map((set) => ({
    hashes: set.hashes.map((h) => h.slice()),
    current: coversModule(set.hashes, hashes),
    signatures: set.signatures.map((s) => ({ ...(s.keyId ? { keyId: hex(s.keyId) } : {}), algorithm: s.algorithm, signature: s.signature.slice() })),
  }));
}

/**
 * How many signatures a module carries, over all its hash sets (0 when unsigned). Throws as
 * `readSignatures` does.
 * @example
 * countSignatures(signModule(signModule(wasm, alice), bob)) // 2
 */
export function countSignatures(module: Uint8Array): number {
  return readSignatures(module).reduce((n, set) => n + set.signatures.length, 0);
}
