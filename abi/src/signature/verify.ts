/**
 * Verifying a signed module against a list of trusted keys (ABI.md §1 checks "the signature
 * verifies" then "the signer is trusted").
 *
 * Which sets count: only those that cover the whole module (cover.ts: one hash per part, each
 * matching, in order). They all sign the same message, so their signatures are pooled.
 *
 * How the signatures are judged, with bounded work, because the signature section is not signed:
 * anyone can fill it (64 sets × 256 signatures, 1.1 MB), and one Ed25519 verification costs about
 * a millisecond of the loader's thread. Trying every signature under every trusted key once took a
 * minute for such a module.
 * - A signature naming a key id (wasmsign2's 12-byte id) is tried only under the trusted keys with
 *   that id, and each trusted key is tried once: it verifies (the key is a signer) or it does not
 *   (the signature is bad: tampered). A key id no trusted key has cannot be checked at all (an
 *   Ed25519 public key cannot be recovered from a signature): untrusted, reported by key id.
 * - Signatures without a key id are tried only when no key id found a trusted signer, at most
 *   {@link MAX_ANONYMOUS_SIGNATURES} distinct ones (a copy of one already tried is skipped), each
 *   under every trusted key, stopping at the first trusted signer.
 * - At most {@link MAX_ED25519_VERIFICATIONS} Ed25519 verifications per module, in all.
 * - Signatures with an algorithm other than Ed25519 are unverifiable, never tried.
 * - Reading the rest costs a few byte comparisons per signature: no strings, no hashing, and error
 *   messages list a few names and counts rather than every key id found.
 * The outcome: any trusted signer → success; else any bad signature → `ESIGNATURE`; else any
 * signature left unchecked by a bound → `ESIGNATURE` (too many to check); else any unverifiable
 * signature → `EUNTRUSTED` listing the key ids found; else `ESIGNATURE`.
 */
import { LoadError, UsageError, describe } from '../errors/index.js';
import { equalBytes, hex } from '../keys/bytes.js';
import { ed25519Verify } from '../keys/ed25519.js';
import type { PublicKey } from '../keys/types.js';
import { WASMSIGN2_KEY_ID_LENGTH, wasmsign2KeyId } from '../keys/wasmsign2.js';
import { coversModule, uncovered } from './cover.js';
import { decodeSignatureData } from './decode.js';
import { ALG_ED25519, MAX_HASHES, type SignatureEntry, type SignedHashSet } from './format.js';
import { contentHashes } from './hash.js';
import { payloadOffset, signatureLayout } from './layout.js';
import { signedMessage } from './message.js';

/**
 * Most Ed25519 verifications one module may cost, whatever its signature section holds: enough for
 * a signature by key id from each of 16 trusted keys, or for one signature without a key id tried
 * under 16 trusted keys. One costs 1–3 ms on the 2-core build machines, by load (bench/verify.js).
 */
export const MAX_ED25519_VERIFICATIONS = 16;
/** Most signatures without a key id tried (each under every trusted key, within the budget above). */
export const MAX_ANONYMOUS_SIGNATURES = 2;
/** Most names, sets or hashes listed in one error message; `details` say how many there were. */
const MAX_LISTED = 8;
/** Untrusted signatures whose key ids are named in `details.signers` (the first ones; the rest are counted). */
const MAX_NAMES = 64;

/** The first 4 bytes of a key id as a number: a cheap index of the trusted keys. */
const prefixOf = (id: Uint8Array) => (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0;

/** What {@link verifyModule} found. */
export interface Verified {
  /** RFC 7638 thumbprints of the trusted keys with a valid signature, in trust-list order. */
  readonly signers: string[];
}

/** Options of {@link verifyModule}. */
export interface VerifyModuleOptions {
  /**
   * The Ed25519 verification to use, `(signature, message, publicKey) => boolean`; default the
   * strict one of keys/ed25519.ts. Tests inject a counting wrapper to check the bounds.
   */
  readonly ed25519Verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
}

/** How a signature without a trusted key is named: its key id in hex (cut when long), or 'anonymous'. */
function nameOf(entry: SignatureEntry): string {
  if (!entry.keyId) return 'anonymous';
  return entry.keyId.length <= 32 ? hex(entry.keyId) : `${hex(entry.keyId.subarray(0, 32))}… (${entry.keyId.length} bytes)`;
}

/** `items` for a message: at most MAX_LISTED, then how many there were (`total`, when only some were made). */
function listed(items: readonly string[], total = items.length): string {
  return total <= MAX_LISTED ? items.join(', ') : `${items.slice(0, MAX_LISTED).join(', ')} … (${total} in all)`;
}

function signatureError(message: string, details: Record<string, unknown> = {}): LoadError {
  return new LoadError('ESIGNATURE', message, { check: 'signature', ...details });
}

/** A hash list for a message: one hash as is, several as [h1, h2, …], the first few only. */
function hashList(hashes: readonly Uint8Array[]): string {
  if (hashes.length === 1) return hex(hashes[0]!);
  const shown = hashes.slice(0, 4).map(hex);
  return `[${shown.join(', ')}${hashes.length > 4 ? `, … (${hashes.length} hashes)` : ''}]`;
}

/** ESIGNATURE for a module no set covers, naming what did not match for the first sets. */
function uncoveredError(sets: readonly SignedHashSet[], module: readonly Uint8Array[]): LoadError {
  const whole = module[module.length - 1]!;
  if (sets.every((set) => set.hashes.length === 0)) return signatureError('signature section holds no signed hashes', { expected: [], got: hex(whole) });
  const reasons = sets.slice(0, MAX_LISTED).map((set, i) => `set ${i + 1}: ${uncovered(set.hashes, module)}`);
  const more = sets.length > MAX_LISTED ? `; … (${sets.length} sets in all)` : '';
  // A module may have any number of delimiters, so its hashes are listed up to what a set can hold.
  return signatureError(
    `content hash mismatch: the signatures cover ${listed(
      sets.slice(0, MAX_LISTED).map((set) => hashList(set.hashes)),
      sets.length,
    )}, got ${hashList(module)}; no set signs the whole module (one hash per part, in order): ${reasons.join('; ')}${more}`,
    {
      expected: sets.slice(0, MAX_LISTED).flatMap((set) => set.hashes.map(hex)),
      got: hex(whole),
      parts: module.slice(0, MAX_HASHES).map(hex),
      partCount: module.length,
      reasons,
      sets: sets.length,
    },
  );
}

/**
 * Verify `module`'s embedded signatures against `trusted` keys, with bounded work (see the file
 * header). Throws `ESIGNATURE` (check 'signature') when the section is missing, misplaced or
 * malformed, when no signed hash set covers the whole module, when a signature by a trusted key
 * does not verify, or when the signatures are too many to check within the bounds; throws
 * `EUNTRUSTED` (check 'trust', `signers`: key ids found) when the signatures are by no trusted key.
 * @example
 * const { signers } = verifyModule(bytes, trustList.keys) // ['kPrK_qmxVWaY…']
 */
export function verifyModule(module: Uint8Array, trusted: readonly PublicKey[], options: VerifyModuleOptions = {}): Verified {
  if (!Array.isArray(trusted) || !trusted.every((k) => k?.type === 'public')) {
    throw new UsageError('EUSAGE', `verifyModule: expected an array of public keys, got ${describe(trusted)}`);
  }
  const verify = options.ed25519Verify ?? ed25519Verify;
  if (typeof verify !== 'function') throw new UsageError('EUSAGE', `verifyModule: options.ed25519Verify: expected a function, got ${describe(verify)}`);
  const layout = signatureLayout(module);
  if (!layout.signature) throw signatureError('module is not signed: expected a "signature" custom section first, got none');
  const { sets } = decodeSignatureData(layout.signature.payload, payloadOffset(layout.signature));
  const hashes = contentHashes(module, layout.content);

  const covering = sets.filter((set) => coversModule(set.hashes, hashes));
  if (covering.length === 0) throw uncoveredError(sets, hashes);
  // Every covering set signs the same hash list, so one message serves them all.
  const message = signedMessage(hashes);

  // The trust list once per key (a key listed twice is one key), with its wasmsign2 key id.
  const keys = trusted.filter((k, i) => trusted.findIndex((o) => o.kid === k.kid) === i);
  const ids = keys.map((key) => wasmsign2KeyId(key));

  // Per signature, work proportional to its bytes at most: no strings, no hashing. A section of
  // 16,384 signatures is read in milliseconds; only verifications are expensive, and bounded.
  const signers = new Set<number>();
  const bad = new Set<number>();
  const untrusted = { count: 0, names: [] as string[], ids: [] as Uint8Array[] };
  /** A signature that names no trusted key (or cannot be checked): counted; the first few named. */
  const noteUntrusted = (entry: SignatureEntry) => {
    if (untrusted.count++ >= MAX_NAMES) return;
    const id = entry.keyId ?? new Uint8Array(0);
    if (untrusted.ids.some((known) => equalBytes(known, id))) return;
    untrusted.ids.push(id);
    untrusted.names.push(nameOf(entry));
  };
  // Trusted keys by the first 4 bytes of their key id, so each signature costs one lookup.
  const byPrefix = new Map<number, number[]>();
  ids.forEach((id, i) => byPrefix.set(prefixOf(id), [...(byPrefix.get(prefixOf(id)) ?? []), i]));
  let attempts = 0;
  let unchecked = 0;
  /** One verification of `entry` under key `i`; undefined once the budget is spent. */
  const attempt = (entry: SignatureEntry, i: number): boolean | undefined => {
    if (attempts >= MAX_ED25519_VERIFICATIONS) return undefined;
    attempts++;
    return verify(entry.signature, message, keys[i]!.bytes);
  };

  // By key id: each trusted key is tried once, under the first signature that names it.
  const anonymous: SignatureEntry[] = [];
  let signatures = 0;
  for (const set of covering) {
    for (const entry of set.signatures) {
      signatures++;
      if (entry.algorithm !== ALG_ED25519) noteUntrusted(entry);
      else if (!entry.keyId) anonymous.push(entry);
      else {
        // The trusted keys it names (an id of another length names none), each tried once.
        let names = false;
        const candidates = entry.keyId.length === WASMSIGN2_KEY_ID_LENGTH ? (byPrefix.get(prefixOf(entry.keyId)) ?? []) : [];
        for (const i of candidates) {
          if (!equalBytes(entry.keyId, ids[i]!)) continue;
          names = true;
          if (signers.has(i) || bad.has(i)) continue;
          const ok = attempt(entry, i);
          if (ok === undefined) {
            unchecked++;
            break;
          }
          (ok ? signers : bad).add(i);
        }
        if (!names) noteUntrusted(entry);
      }
    }
  }

  // Without a key id: only when no key id found a trusted signer, and few of them; a copy of a
  // signature already tried is not tried again.
  if (signers.size === 0) {
    const tried: Uint8Array[] = [];
    for (const entry of anonymous) {
      if (tried.some((signature) => equalBytes(signature, entry.signature))) continue;
      if (keys.length === 0) {
        noteUntrusted(entry);
        continue;
      }
      if (tried.length === MAX_ANONYMOUS_SIGNATURES || attempts >= MAX_ED25519_VERIFICATIONS) {
        unchecked++;
        continue;
      }
      tried.push(entry.signature);
      let outcome: 'signed' | 'untrusted' | 'spent' = 'untrusted';
      for (let i = 0; i < keys.length && outcome === 'untrusted'; i++) {
        const ok = attempt(entry, i);
        if (ok === undefined) outcome = 'spent';
        else if (ok) {
          signers.add(i);
          outcome = 'signed';
        }
      }
      if (outcome === 'signed') break; // the first trusted signer is enough
      if (outcome === 'spent') unchecked++;
      else noteUntrusted(entry);
    }
  }

  if (signers.size > 0) return { signers: keys.filter((_, i) => signers.has(i)).map((k) => k.kid) };
  if (bad.size > 0) {
    const kids = keys.filter((_, i) => bad.has(i)).map((k) => k.kid);
    throw signatureError(`signature does not verify: expected a valid Ed25519 signature by trusted key ${listed(kids)}, got an invalid one`, { keys: kids });
  }
  if (unchecked > 0) {
    throw signatureError(
      `too many signatures to check: found no trusted signer within ${attempts} Ed25519 verifications (at most ${MAX_ED25519_VERIFICATIONS} per module, and at most ${MAX_ANONYMOUS_SIGNATURES} signatures without a key id), ${unchecked} of ${signatures} signatures left unchecked; sign with a key id (wasmsign2 sign -K, mcp0 sign)`,
      { attempts, limit: MAX_ED25519_VERIFICATIONS, anonymousLimit: MAX_ANONYMOUS_SIGNATURES, unchecked, signatures },
    );
  }
  if (untrusted.count > 0) {
    const { names, count } = untrusted;
    const more = count > MAX_NAMES || names.length > MAX_LISTED ? ` … (${count} signatures by no trusted key)` : '';
    throw new LoadError(
      'EUNTRUSTED',
      `module is signed by no trusted key: expected a signature by ${keys.length === 0 ? 'a trusted key (the trust list is empty)' : `one of ${listed(keys.map((k) => k.kid))}`}, got signatures by key id ${names.slice(0, MAX_LISTED).join(', ')}${more} (wasmsign2 key ids, hex)`,
      { check: 'trust', signers: names, signatures: count, trusted: keys.map((k) => k.kid) },
    );
  }
  throw signatureError("signature section holds no signatures for this module's content");
}
