/**
 * The guest CBOR codec, run inside WebAssembly and checked against the host library cborg:
 * RFC 8949 Appendix A, deterministic map order, random round trips, and hostile input, which must
 * always give EINPUT and never a trap.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { compileAssembly } from '@mcp0/builder';
import { loadGuest, type Guest, type Outcome } from '../../../test/guest/harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let guest: Guest;

beforeAll(async () => {
  guest = await loadGuest(await compileAssembly({ baseDir: here, entry: 'guest/index.ts' }));
});

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const enc = (v: unknown): Uint8Array => cborgEncode(v, rfc8949EncodeOptions);

function expectOutput(o: Outcome): Uint8Array {
  if (o.kind !== 'output') throw new Error(`expected output, got ${o.kind}: ${o.kind === 'error' ? `${o.code} ${o.message}` : o.error.message}`);
  return o.bytes;
}

function expectEinput(o: Outcome, input: string): void {
  if (o.kind === 'trap') throw new Error(`input ${input} trapped: ${o.error.message}`);
  expect(o.kind, `input ${input} should be rejected`).toBe('error');
  if (o.kind === 'error') expect(o.code).toBe('EINPUT');
}

// RFC 8949 Appendix A, the examples that are in the deterministic profile.
const APPENDIX_A = [
  '00', '01', '0a', '17', '1818', '1819', '1864', '1903e8', '1a000f4240', '1b000000e8d4a51000', '1bffffffffffffffff',
  '3bffffffffffffffff', '20', '29', '3863', '3903e7',
  'f90000', 'f98000', 'f93c00', 'fb3ff199999999999a', 'f93e00', 'f97bff', 'fa47c35000', 'fa7f7fffff', 'fb7e37e43c8800759c',
  'f90001', 'f90400', 'f9c400', 'fbc010666666666666',
  'f4', 'f5', 'f6',
  '40', '4401020304', '60', '6161', '6449455446', '62225c', '62c3bc', '63e6b0b4', '64f0908591',
  '80', '83010203', '8301820203820405', '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
  'a0', 'a201020304', 'a26161016162820203', '826161a161626163', 'a56161614161626142616361436164614461656145',
];

// Appendix A examples outside the profile: NaN/Infinity, non-shortest floats, undefined, simple
// values, tags, indefinite lengths.
const APPENDIX_A_OUTSIDE = [
  'f97c00', 'f97e00', 'f9fc00', 'fa7f800000', 'fa7fc00000', 'faff800000', 'fb7ff0000000000000', 'fb7ff8000000000000',
  'fbfff0000000000000', 'f7', 'f0', 'f8ff', 'c074323031332d30332d32315432303a30343a30305a', 'c11a514b67b0',
  'c1fb41d452d9ec200000', 'd74401020304', 'd818456449455446', 'c249010000000000000000', 'c349010000000000000000',
  '5f42010243030405ff', '7f657374726561646d696e67ff', '9fff', '9f018202039f0405ffff', 'bf61610161629f0203ffff',
  'bf6346756ef563416d7421ff',
];

describe('guest CBOR codec', () => {
  it('round-trips every RFC 8949 Appendix A example of the deterministic profile', async () => {
    for (const h of APPENDIX_A) {
      expect(toHex(expectOutput(await guest.call('roundtrip', fromHex(h)))), h).toBe(h);
    }
  });

  it('rejects the Appendix A examples outside the profile with EINPUT', async () => {
    for (const h of APPENDIX_A_OUTSIDE) expectEinput(await guest.call('roundtrip', fromHex(h)), h);
  });

  it('encodes maps in deterministic key order, whatever the insertion order', async () => {
    const out = expectOutput(await guest.call('sample'));
    const expected = new Map<unknown, unknown>([
      ['b', 3],
      ['aa', { z: 1, '': null, é: true }],
      [
        'a',
        [
          0, 23, 24, 0xffff, 0x10000, 2n ** 64n - 1n, -1, -25, -(2n ** 63n), -(2n ** 64n), 1.5, -4.1, 100000.5,
          5.960464477539063e-8, 3.4028234663852886e38, 1.0e300, new Uint8Array(3), 'ü水🌊', false, null,
        ],
      ],
      [10, 'ten'],
      [-1, 'minus one'],
      [new Uint8Array(1), 'bytes'],
    ]);
    expect(toHex(out)).toBe(toHex(enc(expected)));
    // Keys by encoded bytes: 0a, 20, 41 00, 61 61, 61 62, 62 61 61.
    const keys = [...(cborgDecode(out, { useMaps: true }) as Map<unknown, unknown>).keys()];
    expect(keys).toEqual([10, -1, new Uint8Array(1), 'a', 'b', 'aa']);
  });

  it('round-trips random values encoded by cborg, byte for byte', async () => {
    const rand = mulberry32(0x5eed);
    for (let i = 0; i < 400; i++) {
      const bytes = enc(randomValue(rand, 0));
      expect(toHex(expectOutput(await guest.call('roundtrip', bytes)))).toBe(toHex(bytes));
    }
  });

  it('rejects every truncation of valid input with EINPUT', async () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 30; i++) {
      const bytes = enc(randomValue(rand, 0));
      for (let n = 0; n < bytes.length; n++) expectEinput(await guest.call('roundtrip', bytes.subarray(0, n)), toHex(bytes.subarray(0, n)));
    }
  });

  it('rejects hostile input with EINPUT and a reason, never a trap', async () => {
    const cases: [string, RegExp][] = [
      ['', /0 bytes/],
      ['0000', /trailing bytes/],
      ['5f', /indefinite/],
      ['ff', /indefinite/],
      ['1c', /reserved/],
      ['1817', /non-minimal/],
      ['190017', /non-minimal/],
      ['1a0000ffff', /non-minimal/],
      ['1b00000000ffffffff', /non-minimal/],
      ['3817', /non-minimal/],
      ['5800', /non-minimal/],
      ['780161', /non-minimal/],
      ['9800', /non-minimal/],
      ['b800', /non-minimal/],
      ['fa3fc00000', /shortest/],
      ['fb3ff8000000000000', /shortest/],
      ['5bffffffffffffffff', /past the end/],
      ['7a7fffffff61', /past the end/],
      ['9bffffffffffffffff00', /cannot fit/],
      ['bbffffffffffffffff0000', /cannot fit/],
      ['9a7fffffff', /cannot fit/],
      ['62c328', /UTF-8/],
      ['63eda080', /UTF-8/],
      ['62c0af', /UTF-8/],
      ['61ff', /UTF-8/],
      ['61c3', /UTF-8/],
      ['64f4908080', /UTF-8/],
      ['a2616201616102', /order/],
      ['a2616101616102', /duplicate/],
      ['a2616101616102', /at byte 4/],
      ['c100', /tags/],
      ['f7', /undefined/],
      ['f820', /simple/],
    ];
    for (const [h, why] of cases) {
      const o = await guest.call('roundtrip', fromHex(h));
      expectEinput(o, h);
      if (o.kind === 'error') expect(o.message, h).toMatch(why);
    }
  });

  it('limits nesting to 64 levels: 10,000 nested arrays give EINPUT, not a stack overflow', async () => {
    const nest = (n: number, leaf: number[]): Uint8Array => Uint8Array.from([...Array<number>(n).fill(0x81), ...leaf]);
    expect(toHex(expectOutput(await guest.call('roundtrip', nest(64, [0]))))).toBe(toHex(nest(64, [0])));
    const o65 = await guest.call('roundtrip', nest(65, [0]));
    expectEinput(o65, '65 deep');
    if (o65.kind === 'error') expect(o65.message).toMatch(/nesting deeper than 64/);
    expectEinput(await guest.call('roundtrip', nest(10_000, [0])), '10,000 deep arrays');
    expectEinput(await guest.call('roundtrip', Uint8Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? 0xa1 : 0x00))), '10,000 deep maps');
  });

  it('answers random bytes with either the same bytes or EINPUT, never a trap', async () => {
    const rand = mulberry32(99);
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      const len = Math.floor(rand() * 24);
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
      const o = await guest.call('roundtrip', bytes);
      if (o.kind === 'output') {
        accepted++;
        expect(toHex(o.bytes)).toBe(toHex(bytes));
      } else expectEinput(o, toHex(bytes));
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('decodes large byte and text strings', async () => {
    const big = { b: new Uint8Array(200_000).fill(7), t: 'ü'.repeat(70_000) };
    const bytes = enc(big);
    expect(Buffer.compare(expectOutput(await guest.call('roundtrip', bytes)), bytes)).toBe(0);
  });
});

/** A small seeded PRNG, so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLE_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', 'ü', '水', '🌊', '\u{10ffff}', '\u0000', '\u07ff', '\uffff'];

/** A random value in the profile: as cborg sees it (number, bigint, string, bytes, array, object). */
function randomValue(rand: () => number, depth: number): unknown {
  const pick = Math.floor(rand() * (depth > 3 ? 7 : 9));
  const int = (): number | bigint => {
    const r = rand();
    if (r < 0.4) return Math.floor(rand() * 30);
    if (r < 0.6) return Math.floor(rand() * 70000) - 35000;
    if (r < 0.8) return Math.floor(rand() * 2 ** 40) * (rand() < 0.5 ? -1 : 1);
    const big = BigInt(Math.floor(rand() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32));
    return big < 2n ** 53n ? Number(big) : rand() < 0.5 ? big : -big - 1n;
  };
  const str = (): string => Array.from({ length: Math.floor(rand() * 12) }, () => SAMPLE_CHARS[Math.floor(rand() * SAMPLE_CHARS.length)]).join('');
  switch (pick) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return int();
    case 3: {
      // Non-integral floats of each width: cborg writes integral numbers as integers.
      const r = rand();
      if (r < 0.33) return Math.floor(rand() * 2000) - 1000 + 0.5; // fits a half
      if (r < 0.66) return Math.fround((rand() - 0.5) * 1e6); // fits a float32
      return (rand() - 0.5) * 1e10 + 0.1; // needs a double
    }
    case 4: return Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
    case 5: return str();
    case 6: return str() + str();
    case 7: return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) o[str()] = randomValue(rand, depth + 1);
      return o;
    }
  }
}
