/**
 * The whole-module rule of Signatures.md ("Signature verification algorithm for an entire module"):
 * a signed hash set covers a module only when it holds exactly one hash per part and each one is
 * the module's rolling hash at that part's end, in order. Finding the module's final hash anywhere
 * in a set is not enough: a module cut off at a `signature_delimiter` has, as its final hash, a hash
 * the set signs for an inner delimiter, and a set signing a prefix is a partial signature, which
 * runtimes must ignore. Shared by verifying, reading and signing so the three always agree.
 */
import { equalBytes, hex } from '../keys/bytes.js';

/**
 * True when `signed` (a set's hashes) covers the module whose rolling hashes are `module`.
 * @example
 * coversModule(set.hashes, contentHashes(bytes, signatureLayout(bytes).content)) // true or false
 */
export function coversModule(signed: readonly Uint8Array[], module: readonly Uint8Array[]): boolean {
  return signed.length === module.length && signed.every((h, i) => equalBytes(h, module[i]!));
}

/** "part 2 of 3": parts count from 1, as people count them. */
const partOf = (i: number, n: number) => `part ${i + 1} of ${n}`;

/**
 * Why `signed` does not cover `module`, naming the first part that differs and the counts, or
 * undefined when it does cover it.
 * @example
 * uncovered([h1, h2], [h1]) // 'the set signs 2 parts, the module has 1: it ends after part 1 (cut off at a signature_delimiter, or its last parts dropped)'
 */
export function uncovered(signed: readonly Uint8Array[], module: readonly Uint8Array[]): string | undefined {
  if (coversModule(signed, module)) return undefined;
  if (signed.length === 0) return 'the set signs no hashes';
  const shared = Math.min(signed.length, module.length);
  const first = signed.findIndex((h, i) => i < shared && !equalBytes(h, module[i]!));
  const differs = first === -1 ? '' : `${partOf(first, module.length)} hashes to ${hex(module[first]!)}, the set expects ${hex(signed[first]!)}`;
  if (signed.length === module.length) {
    // Equal counts: some part differs. With one part this is the plain "the module changed" case.
    return module.length === 1 ? `${differs} (the module changed after signing)` : `${differs} (parts dropped, reordered or changed after signing)`;
  }
  const counts = `the set signs ${signed.length} part${signed.length === 1 ? '' : 's'}, the module has ${module.length}`;
  if (first !== -1) return `${counts}; ${differs}`;
  return signed.length > module.length
    ? `${counts}: it ends after part ${module.length} (cut off at a signature_delimiter, or its last parts dropped)`
    : `${counts}: ${signed.length + 1 === module.length ? `part ${module.length} is` : `parts ${signed.length + 1}–${module.length} are`} not covered (a partial signature, or parts added after signing)`;
}
