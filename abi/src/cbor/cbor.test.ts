// The host CBOR profile against RFC 8949 Appendix A and the §4.2.1 deterministic rules, and the
// strict decoder against hostile input.
import { describe, expect, it } from 'vitest';
import { CallError } from '../errors/index.js';
import { MAX_CBOR_DEPTH, decodeCbor, encodeCbor } from './cbor.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

// RFC 8949 Appendix A: values whose listed encoding is also the deterministic one. (JS numbers
// that are whole encode as integers, so Appendix A's 65504.0 and 100000.0 are replaced by 65504.5 and
// 100000.5, whose single-precision encodings were computed by hand: 0x477fe080 and 0x47c35040.)
const VECTORS: [unknown, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [1.1, 'fb3ff199999999999a'],
  [1.5, 'f93e00'],
  [65504.5, 'fa477fe080'],
  [100000.5, 'fa47c35040'],
  [-4.1, 'fbc010666666666666'],
  [5.960464477539063e-8, 'f90001'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array(0), '40'],
  [bytes('01020304'), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\u{10151}', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
];

describe('CBOR profile (RFC 8949 §4.2.1)', () => {
  it.each(VECTORS)('encodes %o as the Appendix A bytes', (value, expected) => {
    expect(hex(encodeCbor(value))).toBe(expected);
    expect(decodeCbor(bytes(expected))).toEqual(typeof value === 'bigint' ? value : value);
  });

  it('sorts map keys by their encoded bytes, not by length first', () => {
    // Bytewise order of the encoded keys: "b" is 61 62 and "aa" is 62 61 61, so "b" comes first.
    expect(hex(encodeCbor({ aa: 1, b: 2 }))).toBe('a261620262616101');
    expect(hex(encodeCbor({ b: 2, a: 1 }))).toBe('a2616101616202');
  });

  it('gives the same bytes for the same value whatever the insertion order', () => {
    expect(encodeCbor({ z: 1, y: { q: 1, p: [1, 2] } })).toEqual(encodeCbor({ y: { p: [1, 2], q: 1 }, z: 1 }));
  });

  const refuse = (h: string, why: RegExp) => {
    const e = (() => {
      try {
        decodeCbor(bytes(h));
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(CallError);
    expect(e).toMatchObject({ code: 'EINPUT' });
    expect((e as Error).message).toMatch(why);
  };

  it('refuses indefinite lengths', () => refuse('9f0102ff', /indefinite/i));
  it('refuses non-shortest integer heads', () => refuse('1800', /minimal|shortest|encod/i));
  it('refuses duplicate map keys', () => refuse('a2616101616102', /repeat/i));
  it('refuses trailing bytes', () => refuse('0102', /trailing|too many|extra/i));
  it('refuses truncated input', () => {
    refuse('1903', /.+/);
    refuse('6449455', /.+/);
    refuse('83010203'.slice(0, 6), /.+/);
  });
  it('refuses undefined', () => refuse('f7', /undefined/i));
  it('refuses empty input', () => expect(() => decodeCbor(new Uint8Array(0))).toThrow(/0 bytes/));

  it(`refuses nesting deeper than ${MAX_CBOR_DEPTH}, without recursing`, () => {
    expect(() => decodeCbor(new Uint8Array(MAX_CBOR_DEPTH).fill(0x81).map((b, i, a) => (i === a.length - 1 ? 0x80 : b)))).not.toThrow();
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(() => decodeCbor(deep)).toThrow(/nesting deeper than 64/);
    const deepMaps = new Uint8Array(200_000);
    for (let i = 0; i < deepMaps.length; i += 2) {
      deepMaps[i] = 0xa1;
      deepMaps[i + 1] = 0x00;
    }
    expect(() => decodeCbor(deepMaps)).toThrow(/nesting/);
  });

  it('survives random bytes with EINPUT or a value, never another error', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 2000; n++) {
      const input = Uint8Array.from({ length: 1 + (n % 40) }, rand);
      try {
        decodeCbor(input);
      } catch (e) {
        expect(e).toBeInstanceOf(CallError);
      }
    }
  });
});
