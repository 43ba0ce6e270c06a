/**
 * Small valid modules for the signature tests, built by hand so the tests need no compiler.
 * (Only tests import this file.)
 */
import { type ErrorCode, LoadError } from '../errors/index.js';
import { concatBytes, encodeCustomSection, encodeSection, WASM_HEADER } from '../wasm/sections.js';
import { SIGNATURE_SECTION } from './format.js';
import { signatureLayout } from './layout.js';

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
  return concatBytes(WASM_HEADER, ...SECTIONS.map(([id, c]) => encodeSection(id, Uint8Array.from(c))), encodeCustomSection('mcp0.manifest', utf8.encode(manifest)));
}

/**
 * The same module with every section size padded to 5-byte LEB128, as wasm-ld writes them.
 * @example
 * signModule(paddedAnswerModule(), key) // re-encoded with minimal headers
 */
export function paddedAnswerModule(): Uint8Array {
  const padded = (n: number) => Uint8Array.of((n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, ((n >> 14) & 0x7f) | 0x80, ((n >> 21) & 0x7f) | 0x80, (n >> 28) & 0x0f);
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
      throw new Error(`expected LoadError ${code}${check ? ` (check ${check})` : ''}, got ${e instanceof Error ? `${e.name} ${(e as { code?: string }).code ?? ''}: ${e.message}` : String(e)}`, { cause: e });
    }
    return e;
  }
  throw new Error(`expected LoadError ${code}, nothing was thrown`);
}
