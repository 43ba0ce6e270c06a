/**
 * Small valid modules for the signature tests, built by hand so the tests need no compiler.
 * (Only tests import this file.)
 */
import { type ErrorCode, LoadError } from '../errors/index.js';
import { ed25519Sign } from '../keys/ed25519.js';
import { concatBytes, encodeCustomSection, encodeSection, WASM_HEADER } from '../wasm/sections.js';
import { encodeSignatureData } from './encode.js';
import { ALG_ED25519, SIGNATURE_SECTION, type SignatureEntry } from './format.js';
import { contentHashes } from './hash.js';
import { signatureLayout } from './layout.js';
import { signedMessage } from './message.js';

const utf8 = new TextEncoder();

/** The standard sections of a module exporting `answer: () -> i32` returning 42. */
const SECTIONS: [id: number, content: number[]][] = [
  [1, [0x01, 0x60, 0x00, 0x01, 0x7f]], // type: one func type () -> i32
  [3, [0x01, 0x00]], // function: one function of type 0
  [7, [0x01, 0x06, ...utf8.encode('answer'), 0x00, 0x00]], // export "answer" = func 0
  [10, [0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b]], // code: no locals, i32.const 42, end
];

/**
 * A valid module with a trailing `mcp0.manifest` custom section.
 * @example
 * const signed = signModule(answerModule(), key)
 */
export function answerModule(manifest = '{"name":"test.answer"}'): Uint8Array {
  return concatBytes(
    WASM_HEADER,
    ...SECTIONS.map(([id, c]) => encodeSection(id, Uint8Array.from(c))),
    encodeCustomSection('mcp0.manifest', utf8.encode(manifest)),
  );
}

/**
 * The same module with every section size padded to 5-byte LEB128, as wasm-ld writes them.
 * @example
 * signModule(paddedAnswerModule(), key) // re-encoded with minimal headers
 */
export function paddedAnswerModule(): Uint8Array {
  const padded = (n: number) =>
    Uint8Array.of((n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, ((n >> 14) & 0x7f) | 0x80, ((n >> 21) & 0x7f) | 0x80, (n >> 28) & 0x0f);
  const section = (id: number, content: Uint8Array) => concatBytes(Uint8Array.of(id), padded(content.length), content);
  const name = utf8.encode('mcp0.manifest');
  const custom = concatBytes(Uint8Array.of(name.length), name, utf8.encode('{"name":"test.answer"}'));
  return concatBytes(WASM_HEADER, ...SECTIONS.map(([id, c]) => section(id, Uint8Array.from(c))), section(0, custom));
}

/**
 * Offset of the first byte of the code section's function body (the `i32.const` opcode).
 * @example
 * const tampered = signed.slice(); tampered[codeOffset(tampered)] ^= 1
 */
export function codeOffset(module: Uint8Array): number {
  const needle = [0x41, 0x2a, 0x0b];
  for (let i = 0; i + 2 < module.length; i++) if (needle.every((b, j) => module[i + j] === b)) return i;
  throw new Error('code body not found');
}

/**
 * `module`'s content behind a `signature` section holding `payload` (valid or not).
 * @example
 * verifyModule(withSignaturePayload(signed, Uint8Array.of(2, 1, 1, 0)), [key.publicKey])
 */
export function withSignaturePayload(module: Uint8Array, payload: Uint8Array): Uint8Array {
  const content = signatureLayout(module).content.map((s) => module.subarray(s.start, s.end));
  return concatBytes(WASM_HEADER, encodeCustomSection(SIGNATURE_SECTION, payload), ...content);
}

/**
 * The error `fn` throws, checked to be a LoadError with `code` (and `check`, when given).
 * @example
 * expect(loadError(() => verifyModule(bytes, []), 'ESIGNATURE').message).toMatch(/not signed/)
 */
export function loadError(fn: () => unknown, code: ErrorCode, check?: string): LoadError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof LoadError) || e.code !== code || (check !== undefined && e.details.check !== check)) {
      throw new Error(
        `expected LoadError ${code}${check ? ` (check ${check})` : ''}, got ${e instanceof Error ? `${e.name} ${(e as { code?: string }).code ?? ''}: ${e.message}` : String(e)}`,
        { cause: e },
      );
    }
    return e;
  }
  throw new Error(`expected LoadError ${code}, nothing was thrown`);
}

/**
 * `count` distinct Ed25519 signatures that are well formed and verify under no key, yet cost a full
 * verification each: R is a real curve point (taken from a real signature) and s = 1, 2, 3… is
 * canonical, so a verifier only finds out at the final equation. `keyId(n)` names the n-th
 * signature's key (undefined: no key id).
 * @example
 * const junk = junkSignatures(256, () => undefined)
 */
export function junkSignatures(count: number, keyId: (n: number) => Uint8Array | undefined, first = 0): SignatureEntry[] {
  const r = ed25519Sign(Uint8Array.of(1), new Uint8Array(32).fill(99)).subarray(0, 32);
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const signature = new Uint8Array(64);
    signature.set(r);
    new DataView(signature.buffer).setUint32(32, n + 1, true); // s = n + 1, little-endian
    const id = keyId(n);
    return id ? { keyId: id, algorithm: ALG_ED25519, signature } : { algorithm: ALG_ED25519, signature };
  });
}

/**
 * `unsigned`'s content behind a signature section of `sets.length` signed hash sets, each covering
 * the whole module (its hash list is the module's) and holding the given signatures.
 * @example
 * const hostile = withCoveringSets(answerModule(), [junkSignatures(256, () => undefined)])
 */
export function withCoveringSets(unsigned: Uint8Array, sets: readonly SignatureEntry[][]): Uint8Array {
  const hashes = contentHashes(unsigned, signatureLayout(unsigned).content);
  return withSignaturePayload(unsigned, encodeSignatureData({ sets: sets.map((signatures) => ({ hashes, signatures })) }));
}

/**
 * A genuine signature by `seed`'s key over `unsigned`'s whole content, with or without a key id.
 * @example
 * const good = genuineSignature(answerModule(), key.seed, wasmsign2KeyId(key))
 */
export function genuineSignature(unsigned: Uint8Array, seed: Uint8Array, keyId?: Uint8Array): SignatureEntry {
  const signature = ed25519Sign(signedMessage(contentHashes(unsigned, signatureLayout(unsigned).content)), seed);
  return keyId ? { keyId, algorithm: ALG_ED25519, signature } : { algorithm: ALG_ED25519, signature };
}
