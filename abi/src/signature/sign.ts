/**
 * Signing a module: add an Ed25519 signature in a leading `signature` section, beside any
 * signatures already there, exactly as `wasmsign2 sign` would.
 */
import { describe, LoadError, UsageError } from '../errors/index.js';
import { equalBytes, hex } from '../keys/bytes.js';
import { ed25519Sign } from '../keys/ed25519.js';
import type { PrivateKey } from '../keys/types.js';
import { wasmsign2KeyId } from '../keys/wasmsign2.js';
import { concatBytes, encodeCustomSection, WASM_HEADER } from '../wasm/sections.js';
import { canonicalModule } from './canonical.js';
import { coversModule, uncovered } from './cover.js';
import { decodeSignatureData } from './decode.js';
import { encodeSignatureData } from './encode.js';
import { ALG_ED25519, SIGNATURE_SECTION, type SignatureEntry, type SignedHashSet } from './format.js';
import { contentHashes } from './hash.js';
import { payloadOffset, signatureLayout } from './layout.js';
import { signedMessage } from './message.js';

const sameHashes = (a: readonly Uint8Array[], b: readonly Uint8Array[]) => a.length === b.length && a.every((h, i) => equalBytes(h, b[i]!));
const sameEntry = (a: SignatureEntry, b: SignatureEntry) =>
  a.algorithm === b.algorithm && equalBytes(a.keyId ?? new Uint8Array(0), b.keyId ?? new Uint8Array(0)) && equalBytes(a.signature, b.signature);

/**
 * Put `entry` into the set signing exactly `hashes`, or into a new set. Signing is deterministic,
 * so an entry already present means this key already signed: nothing is added (idempotent).
 */
function addSignature(sets: readonly SignedHashSet[], hashes: Uint8Array[], entry: SignatureEntry): SignedHashSet[] {
  const index = sets.findIndex((set) => sameHashes(set.hashes, hashes));
  if (index === -1) return [...sets, { hashes, signatures: [entry] }];
  const set = sets[index]!;
  if (set.signatures.some((s) => sameEntry(s, entry))) return [...sets];
  return sets.map((s, i) => (i === index ? { hashes: s.hashes, signatures: [...s.signatures, entry] } : s));
}

/**
 * Sign `module` with `key`. The signature covers every section after the `signature` section
 * (the manifest included) and embeds wasmsign2's key id for the key, so `wasmsign2 verify` and
 * {@link verifyModule} both find it. An unsigned module also gets minimal section headers, as
 * wasmsign2 writes them. A module signed already keeps its bytes and its signers, and the new
 * signature joins them; if it changed since (no set covers the whole module, cover.ts) this throws `ESIGNATURE`
 * rather than dropping the old signers — strip them first to re-sign.
 * @example
 * const signed = signModule(await readFile('plugin.wasm'), parsePrivateJwk(jwkText))
 */
export function signModule(module: Uint8Array, key: PrivateKey): Uint8Array {
  if (!(module instanceof Uint8Array)) throw new UsageError('EUSAGE', `signModule: expected module bytes, got ${describe(module)}`);
  if (key?.type !== 'private')
    throw new UsageError('EUSAGE', `signModule: expected a private key, got ${key?.type === 'public' ? `public key ${key.kid}` : describe(key)}`);
  const layout = signatureLayout(module);
  const existing = layout.signature ? decodeSignatureData(layout.signature.payload, payloadOffset(layout.signature)).sets : [];
  // With signers present, rewriting any byte would break their signatures: keep the module as is.
  const body = existing.length > 0 ? module : canonicalModule(layout.content);
  const content = existing.length > 0 ? layout.content : signatureLayout(body).content;
  const hashes = contentHashes(body, content);
  const whole = hashes[hashes.length - 1]!;
  if (existing.length > 0 && !existing.some((set) => coversModule(set.hashes, hashes))) {
    const covered = existing.map((set) => hex(set.hashes[set.hashes.length - 1] ?? new Uint8Array(0)));
    throw new LoadError(
      'ESIGNATURE',
      `module changed since it was signed: its signatures cover content hash ${covered.join(', ')}, got ${hex(whole)} (${uncovered(existing[0]!.hashes, hashes)}); strip the old signatures to re-sign (mcp0 sign --replace)`,
      { check: 'signature', expected: covered, got: hex(whole) },
    );
  }
  const entry: SignatureEntry = { keyId: wasmsign2KeyId(key), algorithm: ALG_ED25519, signature: ed25519Sign(signedMessage(hashes), key.seed) };
  const payload = encodeSignatureData({ sets: addSignature(existing, hashes, entry) });
  return concatBytes(WASM_HEADER, encodeCustomSection(SIGNATURE_SECTION, payload), ...content.map((s) => body.subarray(s.start, s.end)));
}
