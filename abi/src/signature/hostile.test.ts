// Hostile signature sections: every malformation is a typed ESIGNATURE error, never a RangeError or a hang.
import { describe, expect, it } from 'vitest';
import { LoadError, Mcp0Error } from '../errors/index.js';
import { privateKeyFromSeed } from '../keys/key.js';
import { concatBytes, encodeCustomSection, parseSections } from '../wasm/sections.js';
import { encodeU32 } from '../wasm/leb128.js';
import { SIGNATURE_SECTION } from './format.js';
import { readSignatures, signModule, verifyModule } from './index.js';
import { answerModule, loadError, withSignaturePayload } from './test-fixtures.js';

const key = privateKeyFromSeed(new Uint8Array(32).fill(5));
const trusted = [key.publicKey];
const unsigned = answerModule();
const signed = signModule(unsigned, key);
const payload = parseSections(signed)[0]!.payload.slice();
const HEADER = Uint8Array.of(1, 1, 1);

/** Both entry points must refuse `module` with ESIGNATURE; returns the message. */
function refused(module: Uint8Array): string {
  const e = loadError(() => verifyModule(module, trusted), 'ESIGNATURE', 'signature');
  loadError(() => readSignatures(module), 'ESIGNATURE', 'signature');
  return e.message;
}
const withPayload = (bytes: Uint8Array) => withSignaturePayload(unsigned, bytes);

describe('hostile signature sections', () => {
  it('every truncation of a valid payload is refused', () => {
    for (let n = 0; n < payload.length; n++) expect(refused(withPayload(payload.subarray(0, n)))).toMatch(/^malformed signature section: .* at offset \d+$/);
  });

  it.each([
    ['spec version 2', Uint8Array.of(2, 1, 1, 0), /spec_version: expected 0x01 \(Signatures.md version 1\), got 0x02 at offset/],
    ['spec version with the high bit set', Uint8Array.of(0x81, 1, 1, 0), /spec_version: expected 0x01 .*, got 0x81/],
    ['content type 2 (not a module)', Uint8Array.of(1, 2, 1, 0), /content_type: expected 0x01 \(WebAssembly module\), got 0x02/],
    ['hash function 2', Uint8Array.of(1, 1, 2, 0), /hash_fn: expected 0x01 \(SHA-256\), got 0x02/],
    ['an empty payload', new Uint8Array(0), /spec_version: expected 1 byte, got end of data/],
    ['a huge set count', concatBytes(HEADER, encodeU32(0xffffffff)), /signed_hashes_count: expected at most 64, got 4294967295/],
    ['a set count the bytes cannot hold', concatBytes(HEADER, encodeU32(60)), /signed_hashes_count: 60 items need at least 60 bytes, only 0 remain/],
    ['an overlong LEB128 count', concatBytes(HEADER, Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x00)), /signed_hashes_count: LEB128: more than 5 bytes/],
    [
      'a set longer than the section',
      concatBytes(HEADER, Uint8Array.of(1), encodeU32(1000), new Uint8Array(10)),
      /signed_hashes: expected 1000 bytes, only 10 remain/,
    ],
    ['65 hashes', concatBytes(HEADER, Uint8Array.of(1, 2, 65, 0)), /hashes_count: expected at most 64, got 65/],
    ['a hash count the bytes cannot hold', concatBytes(HEADER, Uint8Array.of(1, 3, 2, 0, 0)), /hashes_count: 2 items need at least 64 bytes, only 2 remain/],
    ['300 signatures', concatBytes(HEADER, Uint8Array.of(1, 3, 0), encodeU32(300)), /signatures_count: expected at most 256, got 300/],
    ['a huge key id length', concatBytes(HEADER, Uint8Array.of(1, 8, 0, 1, 5), encodeU32(0xfffffff0)), /key_id: expected 4294967280 bytes, only 0 remain/],
    [
      'a 63-byte Ed25519 signature',
      concatBytes(HEADER, Uint8Array.of(1, 69, 0, 1, 66, 0, 1, 63), new Uint8Array(63)),
      /Ed25519 signature: expected 64 bytes, got 63/,
    ],
    ['bytes after the last set', concatBytes(payload, Uint8Array.of(0)), /signature data: expected its end, got 1 more bytes/],
  ])('refuses %s', (_name, bytes, message) => {
    expect(refused(withPayload(bytes))).toMatch(message);
  });

  it('refuses a signature section that is not first, or a second one', () => {
    const late = concatBytes(unsigned, encodeCustomSection(SIGNATURE_SECTION, payload));
    expect(refused(late)).toMatch(/expected the "signature" section first, got one at section index 5/);
    expect(refused(concatBytes(signed, encodeCustomSection(SIGNATURE_SECTION, payload)))).toMatch(/got one at section index 6/);
    loadError(() => signModule(late, key), 'ESIGNATURE', 'signature');
  });

  it('refuses to sign over a malformed signature section rather than dropping it', () => {
    loadError(() => signModule(withPayload(Uint8Array.of(2, 1, 1, 0)), key), 'ESIGNATURE', 'signature');
  });

  it('an empty but well-formed section holds no signatures', () => {
    const empty = withPayload(concatBytes(HEADER, Uint8Array.of(0)));
    expect(loadError(() => verifyModule(empty, trusted), 'ESIGNATURE', 'signature').message).toMatch(/signature section holds no signed hashes/);
    expect(readSignatures(empty)).toEqual([]);
    expect(verifyModule(signModule(empty, key), trusted).signers).toEqual([key.kid]);
  });

  it('non-modules are ENOTWASM', () => {
    loadError(() => verifyModule(Uint8Array.of(1, 2, 3), trusted), 'ENOTWASM', 'wasm');
    loadError(() => signModule(new Uint8Array(0), key), 'ENOTWASM', 'wasm');
  });

  it('random corruption only ever yields typed errors', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 3000; round++) {
      const bytes = signed.slice();
      const edits = 1 + Math.floor(random() * 4);
      for (let i = 0; i < edits; i++) bytes[8 + Math.floor(random() * (payload.length + 4))] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? bytes.subarray(0, 8 + Math.floor(random() * (bytes.length - 8))) : bytes;
      for (const run of [() => verifyModule(cut, trusted), () => readSignatures(cut), () => signModule(cut, key)]) {
        try {
          run();
        } catch (e) {
          if (!(e instanceof Mcp0Error)) throw new Error(`round ${round}: untyped ${String(e)}`, { cause: e });
          expect(e).toBeInstanceOf(LoadError);
          expect(['ESIGNATURE', 'EUNTRUSTED', 'ENOTWASM']).toContain(e.code);
        }
      }
    }
  });
});
