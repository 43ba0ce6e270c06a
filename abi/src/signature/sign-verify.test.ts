// Signing and verifying: the exact bytes we write and sign, several signers, and tampering.
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { ed25519Sign, ed25519Verify } from '../keys/ed25519.js';
import { generateKeyPair, privateKeyFromSeed } from '../keys/key.js';
import { wasmsign2KeyId } from '../keys/wasmsign2.js';
import { concatBytes, customSections, encodeCustomSection, parseSections } from '../wasm/sections.js';
import { decodeSignatureData } from './decode.js';
import { encodeSignatureData } from './encode.js';
import { DELIMITER_SECTION } from './format.js';
import { countSignatures, readSignatures, signModule, stripSignatures, verifyModule } from './index.js';
import { answerModule, codeOffset, loadError, paddedAnswerModule, withSignaturePayload } from './test-fixtures.js';

const alice = privateKeyFromSeed(new Uint8Array(32).fill(1));
const bob = privateKeyFromSeed(new Uint8Array(32).fill(2));
const mallory = privateKeyFromSeed(new Uint8Array(32).fill(3));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at]! ^= 0x01;
  return copy;
};

describe('signModule', () => {
  const unsigned = answerModule();
  const signed = signModule(unsigned, alice);

  it('countSignatures counts every signer: 0 unsigned, 1, then 2 with a second signer, 0 once stripped', () => {
    expect(countSignatures(unsigned)).toBe(0);
    expect(countSignatures(signed)).toBe(1);
    const twice = signModule(signed, generateKeyPair());
    expect(countSignatures(twice)).toBe(2);
    expect(countSignatures(twice)).toBe(readSignatures(twice).flatMap((set) => set.signatures).length);
    expect(countSignatures(stripSignatures(twice))).toBe(0);
  });

  it('puts a "signature" section first and keeps the module valid and runnable', () => {
    const sections = parseSections(signed);
    expect(sections[0]).toMatchObject({ id: 0, name: 'signature' });
    expect(signed.subarray(sections[0]!.end)).toEqual(unsigned.subarray(8));
    expect(WebAssembly.validate(Uint8Array.from(signed))).toBe(true);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(signed)));
    expect((instance.exports.answer as () => number)()).toBe(42);
    expect(new TextDecoder().decode(customSections(signed, 'mcp0.manifest')[0])).toBe('{"name":"test.answer"}');
  });

  it('writes exactly the Signatures.md layout, and signs "wasmsig" ‖ 01 01 01 ‖ SHA-256(content)', () => {
    const section = parseSections(signed)[0]!;
    const hash = sha256(unsigned.subarray(8)); // every byte after the 8-byte header of the unsigned module
    const signature = ed25519Sign(concatBytes(new TextEncoder().encode('wasmsig'), Uint8Array.of(1, 1, 1), hash), alice.seed);
    const keyId = wasmsign2KeyId(alice);
    const expected = concatBytes(
      Uint8Array.of(0x01, 0x01, 0x01), // spec version, content type (module), hash function (SHA-256)
      Uint8Array.of(1), // one signed hash set…
      Uint8Array.of(1 + 32 + 1 + 1 + (1 + 12 + 1 + 1 + 64)), // …of this many bytes:
      Uint8Array.of(1),
      hash, // one hash
      Uint8Array.of(1), // one signature…
      Uint8Array.of(1 + 12 + 1 + 1 + 64), // …of this many bytes:
      Uint8Array.of(12),
      keyId,
      Uint8Array.of(0x01),
      Uint8Array.of(64),
      signature,
    );
    expect(hex(section.payload)).toBe(hex(expected));
  });

  it('is deterministic and idempotent for the same key', () => {
    expect(signModule(unsigned, alice)).toEqual(signed);
    expect(signModule(signed, alice)).toEqual(signed);
  });

  it('adds a second signer beside the first, in the same signed hash set', () => {
    const both = signModule(signed, bob);
    const sets = readSignatures(both);
    expect(sets).toHaveLength(1);
    expect(sets[0]!.current).toBe(true);
    expect(sets[0]!.signatures.map((s) => s.keyId)).toEqual([hex(wasmsign2KeyId(alice)), hex(wasmsign2KeyId(bob))]);
    expect(both.subarray(parseSections(both)[0]!.end)).toEqual(unsigned.subarray(8));
  });

  it('refuses to sign a signed module that changed since, instead of dropping its signers', () => {
    const changed = concatBytes(signed, encodeCustomSection('late', Uint8Array.of(1)));
    const e = loadError(() => signModule(changed, bob), 'ESIGNATURE', 'signature');
    expect(e.message).toMatch(/module changed since it was signed: its signatures cover content hash [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(verifyModule(signModule(stripSignatures(changed), bob), [bob.publicKey]).signers).toEqual([bob.kid]);
  });

  it('re-encodes padded section headers of an unsigned module, as wasmsign2 does', () => {
    const padded = paddedAnswerModule();
    expect(padded.length).toBeGreaterThan(unsigned.length);
    expect(signModule(padded, alice)).toEqual(signed);
  });

  it('keeps signatures of an unknown algorithm when adding one', () => {
    const foreign = { keyId: Uint8Array.of(9), algorithm: 0x42, signature: Uint8Array.of(1, 2, 3) };
    const hash = sha256(unsigned.subarray(8));
    const withForeign = withSignaturePayload(unsigned, encodeSignatureData({ sets: [{ hashes: [hash], signatures: [foreign] }] }));
    const resigned = signModule(withForeign, alice);
    expect(readSignatures(resigned)[0]!.signatures.map((s) => s.algorithm)).toEqual([0x42, 0x01]);
    expect(verifyModule(resigned, [alice.publicKey]).signers).toEqual([alice.kid]);
  });

  it('refuses a public key, and non-bytes, with EUSAGE', () => {
    expect(() => signModule(unsigned, alice.publicKey as never)).toThrow(
      expect.objectContaining({ code: 'EUSAGE', message: expect.stringMatching(/expected a private key, got public key/) }),
    );
    expect(() => signModule('wasm' as never, alice)).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});

describe('verifyModule', () => {
  const unsigned = answerModule();
  const signed = signModule(unsigned, alice);
  const both = signModule(signed, bob);

  it('returns the trusted signers by thumbprint', () => {
    expect(verifyModule(signed, [alice.publicKey])).toEqual({ signers: [alice.kid] });
    expect(verifyModule(signed, [mallory.publicKey, alice.publicKey, alice.publicKey])).toEqual({ signers: [alice.kid] });
  });

  it('two signers both verify; trusting one is enough', () => {
    expect(verifyModule(both, [bob.publicKey, alice.publicKey]).signers).toEqual([bob.kid, alice.kid]);
    expect(verifyModule(both, [bob.publicKey]).signers).toEqual([bob.kid]);
  });

  it('flipping a code byte fails the hash check (ESIGNATURE)', () => {
    const e = loadError(() => verifyModule(flip(signed, codeOffset(signed)), [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toMatch(/content hash mismatch: the signatures cover [0-9a-f]{64}, got [0-9a-f]{64}/);
  });

  it('flipping a byte of a later custom section (the manifest) fails (ESIGNATURE)', () => {
    loadError(() => verifyModule(flip(signed, signed.length - 3), [alice.publicKey]), 'ESIGNATURE', 'signature');
  });

  it('appending a section after signing fails (ESIGNATURE)', () => {
    loadError(() => verifyModule(concatBytes(signed, encodeCustomSection('extra', Uint8Array.of(0))), [alice.publicKey]), 'ESIGNATURE', 'signature');
  });

  it('flipping a signature byte fails (ESIGNATURE), naming the key', () => {
    const sigStart = parseSections(signed)[0]!.end - 64;
    const e = loadError(() => verifyModule(flip(signed, sigStart + 10), [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain(`expected a valid Ed25519 signature by trusted key ${alice.kid}, got an invalid one`);
    // …and one good signer still carries a module whose other signature is bad.
    const bothSig = parseSections(both)[0]!.end - 64; // bob's signature comes last
    expect(verifyModule(flip(both, bothSig), [alice.publicKey, bob.publicKey]).signers).toEqual([alice.kid]);
  });

  it('a stripped module is not signed (ESIGNATURE)', () => {
    const stripped = stripSignatures(both);
    expect(stripped).toEqual(unsigned);
    expect(loadError(() => verifyModule(stripped, [alice.publicKey]), 'ESIGNATURE', 'signature').message).toMatch(
      /module is not signed: expected a "signature" custom section first, got none/,
    );
  });

  it('a valid signature by an untrusted key is EUNTRUSTED, naming the key ids found', () => {
    const e = loadError(() => verifyModule(both, [mallory.publicKey]), 'EUNTRUSTED', 'trust');
    const ids = [hex(wasmsign2KeyId(alice)), hex(wasmsign2KeyId(bob))];
    expect(e.details.signers).toEqual(ids);
    expect(e.message).toContain(`expected a signature by one of ${mallory.kid}, got signatures by key id ${ids.join(', ')}`);
    expect(loadError(() => verifyModule(signed, []), 'EUNTRUSTED', 'trust').message).toMatch(/the trust list is empty/);
  });

  it('a signature without key id is tried under every trusted key', () => {
    const hash = sha256(unsigned.subarray(8));
    const message = concatBytes(new TextEncoder().encode('wasmsig'), Uint8Array.of(1, 1, 1), hash);
    const anonymous = withSignaturePayload(
      unsigned,
      encodeSignatureData({ sets: [{ hashes: [hash], signatures: [{ algorithm: 1, signature: ed25519Sign(message, bob.seed) }] }] }),
    );
    expect(verifyModule(anonymous, [alice.publicKey, bob.publicKey]).signers).toEqual([bob.kid]);
    expect(loadError(() => verifyModule(anonymous, [alice.publicKey]), 'EUNTRUSTED', 'trust').details.signers).toEqual(['anonymous']);
  });

  it('verifies modules cut by signature_delimiter sections (rolling hashes)', () => {
    const delimiter = () => encodeCustomSection(DELIMITER_SECTION, new Uint8Array(16).fill(7));
    const parts = parseSections(unsigned).map((s) => unsigned.subarray(s.start, s.end));
    const split = concatBytes(unsigned.subarray(0, 8), ...parts.slice(0, 4), delimiter(), ...parts.slice(4), delimiter());
    const signedSplit = signModule(split, alice);
    const [set] = readSignatures(signedSplit);
    expect(set!.hashes.map(hex)).toEqual([hex(sha256(concatBytes(...parts.slice(0, 4), delimiter()))), hex(sha256(split.subarray(8)))]);
    expect(verifyModule(signedSplit, [alice.publicKey]).signers).toEqual([alice.kid]);
    const message = concatBytes(new TextEncoder().encode('wasmsig'), Uint8Array.of(1, 1, 1), ...set!.hashes);
    expect(ed25519Verify(set!.signatures[0]!.signature, message, alice.publicKey.bytes)).toBe(true);
  });

  it('refuses a trust list that is not public keys (EUSAGE)', () => {
    expect(() => verifyModule(signed, [alice as never])).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
    expect(() => verifyModule(signed, 'alice' as never)).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });

  it('works for freshly generated keys', () => {
    const key = generateKeyPair();
    expect(verifyModule(signModule(unsigned, key), [key.publicKey]).signers).toEqual([key.kid]);
  });
});

describe('readSignatures', () => {
  it('is empty for an unsigned module and shows stale sets as not current', () => {
    const unsigned = answerModule();
    expect(readSignatures(unsigned)).toEqual([]);
    const signed = signModule(unsigned, alice);
    const [set] = readSignatures(signed);
    expect(set).toMatchObject({ current: true, signatures: [{ keyId: hex(wasmsign2KeyId(alice)), algorithm: 1 }] });
    expect(hex(set!.hashes[0]!)).toBe(hex(sha256(unsigned.subarray(8))));
    const stale = concatBytes(signed, encodeCustomSection('later', new Uint8Array(1)));
    expect(readSignatures(stale)[0]!.current).toBe(false);
    expect(decodeSignatureData(parseSections(stale)[0]!.payload).sets).toHaveLength(1);
  });
});
