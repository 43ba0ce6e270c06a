// The whole-module rule (Signatures.md): a set signs a module only with one hash per part, each
// matching, in order. A module cut off at a signature_delimiter, with parts dropped or reordered,
// or carrying only a partial signature, is refused with ESIGNATURE naming what did not match.
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { privateKeyFromSeed } from '../keys/key.js';
import { concatBytes, encodeCustomSection, encodeSection, parseSections, WASM_HEADER } from '../wasm/sections.js';
import { coversModule, uncovered } from './cover.js';
import { DELIMITER_SECTION } from './format.js';
import { contentHashes, readSignatures, signModule, verifyModule } from './index.js';
import { signatureLayout } from './layout.js';
import { answerModule, loadError } from './test-fixtures.js';

const alice = privateKeyFromSeed(new Uint8Array(32).fill(1));
const bob = privateKeyFromSeed(new Uint8Array(32).fill(2));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const delimiter = (n: number) => encodeCustomSection(DELIMITER_SECTION, new Uint8Array(16).fill(n));

// answerModule's sections: type, function, export, code, mcp0.manifest. Four parts, each ending
// with its own delimiter: [type function] [export code] [note] [manifest].
const answer = answerModule();
const [type, fn, exp, code, manifest] = parseSections(answer).map((s) => answer.subarray(s.start, s.end));
const note = encodeCustomSection('note', Uint8Array.of(1, 2, 3));
const parts = [
  concatBytes(type!, fn!, delimiter(1)),
  concatBytes(exp!, code!, delimiter(2)),
  concatBytes(note, delimiter(3)),
  concatBytes(manifest!, delimiter(4)),
];
const unsigned = concatBytes(WASM_HEADER, ...parts);
const signed = signModule(unsigned, alice);
/** The signed module's signature section, then `chosen` parts in that order. */
const withParts = (...chosen: Uint8Array[]) => concatBytes(signed.subarray(0, parseSections(signed)[0]!.end), ...chosen);
const moduleHashes = (module: Uint8Array) => contentHashes(module, signatureLayout(module).content);
/** The rolling hash after `prefix` (Signatures.md: h_i = H(p1‖d1‖…‖p_i‖d_i)). */
const rolling = (...prefix: Uint8Array[]) => hex(sha256(concatBytes(...prefix)));

describe('the whole-module rule', () => {
  it('a library-signed module of four parts signs exactly its four rolling hashes (known answer), and verifies', () => {
    const [set] = readSignatures(signed);
    expect(set!.hashes.map(hex)).toEqual([rolling(parts[0]!), rolling(...parts.slice(0, 2)), rolling(...parts.slice(0, 3)), rolling(...parts)]);
    expect(set!.current).toBe(true);
    expect(verifyModule(signed, [alice.publicKey])).toEqual({ signers: [alice.kid] });
    expect(withParts(...parts)).toEqual(signed);
  });

  it.each([
    ['after part 3', 3],
    ['after part 2', 2],
    ['after part 1', 1],
  ])('refuses the module cut off at a delimiter, %s, naming the count', (_name, kept) => {
    const cut = withParts(...parts.slice(0, kept));
    // The cut module's last hash is one the set signs: "contains" would have accepted it.
    expect(readSignatures(signed)[0]!.hashes.map(hex)).toContain(hex(moduleHashes(cut).at(-1)!));
    const e = loadError(() => verifyModule(cut, [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain(
      `set 1: the set signs 4 parts, the module has ${kept}: it ends after part ${kept} (cut off at a signature_delimiter, or its last parts dropped)`,
    );
    expect(e.details.parts).toEqual(moduleHashes(cut).map(hex));
    expect(readSignatures(cut)[0]!.current).toBe(false);
  });

  it('refuses a module with a middle part dropped, naming the first part that differs', () => {
    const dropped = withParts(parts[0]!, parts[2]!, parts[3]!);
    const e = loadError(() => verifyModule(dropped, [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain(
      `set 1: the set signs 4 parts, the module has 3; part 2 of 3 hashes to ${rolling(parts[0]!, parts[2]!)}, the set expects ${rolling(parts[0]!, parts[1]!)}`,
    );
  });

  it('refuses a module with the first part dropped', () => {
    const e = loadError(() => verifyModule(withParts(...parts.slice(1)), [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain(
      `set 1: the set signs 4 parts, the module has 3; part 1 of 3 hashes to ${rolling(parts[1]!)}, the set expects ${rolling(parts[0]!)}`,
    );
  });

  it('refuses a module with two parts swapped, naming the part', () => {
    const swapped = withParts(parts[0]!, parts[2]!, parts[1]!, parts[3]!);
    const e = loadError(() => verifyModule(swapped, [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain(
      `set 1: part 2 of 4 hashes to ${rolling(parts[0]!, parts[2]!)}, the set expects ${rolling(parts[0]!, parts[1]!)} (parts dropped, reordered or changed after signing)`,
    );
  });

  it('refuses a partial signature: a set over the first part of a module that has more', () => {
    const first = signModule(concatBytes(WASM_HEADER, parts[0]!), bob);
    const grown = concatBytes(first, ...parts.slice(1));
    const e = loadError(() => verifyModule(grown, [bob.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.message).toContain('set 1: the set signs 1 part, the module has 4: parts 2–4 are not covered (a partial signature, or parts added after signing)');
  });

  it('signModule refuses to add a signer to a cut-off module (its signers no longer cover it)', () => {
    const e = loadError(() => signModule(withParts(...parts.slice(0, 2)), bob), 'ESIGNATURE', 'signature');
    expect(e.message).toMatch(/^module changed since it was signed: .* \(the set signs 4 parts, the module has 2: it ends after part 2 /);
  });

  it('a module without a final delimiter has a final hash over everything, which the set must hold', () => {
    const open = concatBytes(WASM_HEADER, parts[0]!, exp!, code!); // part 2 without its delimiter
    const signedOpen = signModule(open, alice);
    expect(readSignatures(signedOpen)[0]!.hashes.map(hex)).toEqual([rolling(parts[0]!), rolling(parts[0]!, exp!, code!)]);
    expect(verifyModule(signedOpen, [alice.publicKey]).signers).toEqual([alice.kid]);
    const cut = signedOpen.subarray(0, signedOpen.length - code!.length);
    expect(loadError(() => verifyModule(cut, [alice.publicKey]), 'ESIGNATURE', 'signature').message).toContain('set 1: part 2 of 2 hashes to');
  });
});

describe('coversModule and uncovered', () => {
  const [h1, h2, h3] = [1, 2, 3].map((n) => new Uint8Array(32).fill(n)) as [Uint8Array, Uint8Array, Uint8Array];
  it.each([
    ['the same list', [h1, h2], [h1, h2], true],
    ['a longer list (the module cut off)', [h1, h2], [h1], false],
    ['a shorter list (a partial signature)', [h1], [h1, h2], false],
    ['the same hashes in another order', [h2, h1], [h1, h2], false],
    ['a list with a hash repeated', [h1, h2, h2], [h1, h2], false],
    ['an empty list', [], [h1], false],
  ])('a set with %s: covers = %s', (_name, signed, module, expected) => {
    expect(coversModule(signed, module)).toBe(expected);
    expect(uncovered(signed, module) === undefined).toBe(expected);
  });

  it('names the first differing part with both hashes', () => {
    expect(uncovered([h1, h3], [h1, h2])).toBe(
      `part 2 of 2 hashes to ${hex(h2)}, the set expects ${hex(h3)} (parts dropped, reordered or changed after signing)`,
    );
    expect(uncovered([h3], [h1])).toBe(`part 1 of 1 hashes to ${hex(h1)}, the set expects ${hex(h3)} (the module changed after signing)`);
    expect(uncovered([], [h1])).toBe('the set signs no hashes');
  });

  it('a module of 5,000 parts is refused with a short message, its hashes listed up to what a set can hold', () => {
    const many = concatBytes(signed, ...Array.from({ length: 4996 }, (_, i) => delimiter(i % 256)));
    const e = loadError(() => verifyModule(many, [alice.publicKey]), 'ESIGNATURE', 'signature');
    expect(e.details).toMatchObject({ partCount: 5000 });
    expect(e.details.parts).toHaveLength(64);
    expect(e.message).toContain('the set signs 4 parts, the module has 5000: parts 5–5000 are not covered');
    expect(e.message.length).toBeLessThan(2000);
  });

  it('a standard section after the last delimiter is part of a last part', () => {
    const extra = concatBytes(signed, encodeSection(11, Uint8Array.of(0))); // an empty data section
    expect(loadError(() => verifyModule(extra, [alice.publicKey]), 'ESIGNATURE', 'signature').message).toContain(
      'the set signs 4 parts, the module has 5: part 5 is not covered',
    );
  });
});
