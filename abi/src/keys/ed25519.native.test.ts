// The native (OpenSSL) Ed25519 path against @noble/ed25519's strict verification, the reference
// for what we accept: equal verdicts on every edge vector of ed25519-vectors.json, and both equal
// to the strict verdict each vector was published or built with.
import { readFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, ed25519VerifyNative } from './ed25519.js';

// The reference needs a synchronous SHA-512 wired in; ed25519.js does that too, but the test must
// not depend on import order to have its reference work.
ed.hashes.sha512 = sha512;

interface Vector {
  name: string;
  pub: string;
  msg: string;
  sig: string;
  expected: boolean;
}
const file = JSON.parse(readFileSync(new URL('./ed25519-vectors.json', import.meta.url), 'utf8')) as {
  speccheck: { cases: Vector[] };
  wycheproof: { cases: Vector[] };
  generated: Vector[];
};
const SETS: Record<string, Vector[]> = { speccheck: file.speccheck.cases, wycheproof: file.wycheproof.cases, generated: file.generated };

function noble(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

const SPKI_PREFIX = '302a300506032b6570032100';
/** OpenSSL with no pre-checks, to show which pre-checks each vector needs. */
async function bareOpenssl(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): Promise<boolean> {
  const { createPublicKey, verify } = await import('node:crypto');
  if (sig.length !== 64 || pub.length !== 32) return false;
  try {
    return verify(null, msg, createPublicKey({ key: Buffer.from(SPKI_PREFIX + bytesToHex(pub), 'hex'), format: 'der', type: 'spki' }), sig);
  } catch {
    return false;
  }
}

describe('ed25519Verify (OpenSSL + pre-checks + strict fallback) against noble strict', () => {
  it('has the vectors it is meant to have', () => {
    expect(SETS.speccheck).toHaveLength(12);
    expect(SETS.wycheproof).toHaveLength(151);
    expect(SETS.generated!.length).toBeGreaterThanOrEqual(50);
  });

  for (const [set, vectors] of Object.entries(SETS)) {
    it(`${set}: the same verdict as noble strict on each of ${vectors.length} vectors, and the expected one`, () => {
      const wrong: string[] = [];
      for (const v of vectors) {
        const [sig, msg, pub] = [hexToBytes(v.sig), hexToBytes(v.msg), hexToBytes(v.pub)];
        const reference = noble(sig, msg, pub);
        const ours = ed25519Verify(sig, msg, pub);
        const native = ed25519VerifyNative(sig, msg, pub);
        // The native half may only say what strict verification would: accept ⇒ true, reject ⇒ false.
        const nativeSound = native === 'undecided' || (native === 'accept') === reference;
        if (ours !== reference || reference !== v.expected || !nativeSound)
          wrong.push(`${v.name}: expected ${v.expected}, noble ${reference}, ours ${ours}, native ${native}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('OpenSSL alone differs from strict exactly where the pre-checks and the fallback act', async () => {
    const onlyOpensslAccepts: string[] = [];
    const onlyStrictAccepts: string[] = [];
    const undecidedValid: string[] = [];
    for (const [set, vectors] of Object.entries(SETS)) {
      for (const v of vectors) {
        const [sig, msg, pub] = [hexToBytes(v.sig), hexToBytes(v.msg), hexToBytes(v.pub)];
        const openssl = await bareOpenssl(sig, msg, pub);
        if (openssl && !v.expected) onlyOpensslAccepts.push(`${set} ${v.name}`);
        if (!openssl && v.expected) onlyStrictAccepts.push(`${set} ${v.name}`);
        if (v.expected && ed25519VerifyNative(sig, msg, pub) === 'undecided') undecidedValid.push(`${set} ${v.name}`);
      }
    }
    // What the key pre-check is for: OpenSSL takes small-order keys and non-canonical key encodings
    // (y >= p, and x = 0 with the sign bit set), under which signatures "verify" for any message.
    expect(onlyOpensslAccepts.filter((d) => !/small-order A|non-canonical A/.test(d))).toEqual([]);
    expect(onlyOpensslAccepts).toHaveLength(15);
    // What the fallback is for: signatures only the cofactored equation accepts, and nothing else.
    expect(onlyStrictAccepts.filter((d) => !/cofactored only|cofactored equation only/.test(d))).toEqual([]);
    expect(undecidedValid.sort()).toEqual(onlyStrictAccepts.sort());
    expect(undecidedValid).toHaveLength(12);
  });

  it('a valid signature by a torsion-free key is decided by OpenSSL alone', () => {
    for (const v of SETS.wycheproof!.filter((w) => w.expected)) {
      expect(ed25519VerifyNative(hexToBytes(v.sig), hexToBytes(v.msg), hexToBytes(v.pub))).toBe('accept');
    }
  });

  it('signs and derives keys byte-for-byte as noble does', () => {
    for (let i = 0; i < 32; i++) {
      const seed = sha512(Uint8Array.of(i)).subarray(0, 32);
      const msg = sha512(Uint8Array.of(i, i)).subarray(0, i * 2);
      expect(bytesToHex(ed25519PublicKey(seed))).toBe(bytesToHex(ed.getPublicKey(seed)));
      expect(bytesToHex(ed25519Sign(msg, seed))).toBe(bytesToHex(ed.sign(msg, seed)));
    }
  });

  it('signs with the seed as it is now, even when the array changed since its last use', () => {
    const seed = new Uint8Array(32).fill(7);
    const msg = Uint8Array.of(1, 2, 3);
    const before = ed25519Sign(msg, seed);
    seed[0] = 8;
    expect(bytesToHex(ed25519Sign(msg, seed))).toBe(bytesToHex(ed.sign(msg, seed)));
    expect(bytesToHex(ed25519Sign(msg, seed))).not.toBe(bytesToHex(before));
  });

  it('verifies under more distinct keys than it caches, and again after they were evicted', () => {
    const signed = Array.from({ length: 300 }, (_, i) => {
      const seed = sha512(Uint8Array.of(i >> 8, i & 0xff)).subarray(0, 32);
      const msg = Uint8Array.of(i & 0xff);
      return { sig: ed25519Sign(msg, seed), msg, pub: ed25519PublicKey(seed) };
    });
    for (const round of [0, 1]) {
      for (const { sig, msg, pub } of signed) {
        expect(ed25519Verify(sig, msg, pub), `round ${round}`).toBe(true);
        expect(ed25519Verify(sig, Uint8Array.of(msg[0]! ^ 1), pub), `round ${round}`).toBe(false);
      }
    }
  });
});
