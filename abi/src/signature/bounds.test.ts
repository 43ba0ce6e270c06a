// Bounded verification: a hostile signature section (64 sets × 256 signatures) costs a bounded
// number of Ed25519 verifications, counted through an injected verify function, never timed.
import { describe, expect, it } from 'vitest';
import { ed25519Verify } from '../keys/ed25519.js';
import { privateKeyFromSeed } from '../keys/key.js';
import { wasmsign2KeyId } from '../keys/wasmsign2.js';
import { MAX_ANONYMOUS_SIGNATURES, MAX_ED25519_VERIFICATIONS, signModule, verifyModule } from './index.js';
import { answerModule, genuineSignature, junkSignatures, loadError, withCoveringSets } from './test-fixtures.js';

const keys = Array.from({ length: 16 }, (_, i) => privateKeyFromSeed(new Uint8Array(32).fill(40 + i)));
const trusted = keys.map((k) => k.publicKey);
const ids = keys.map((k) => wasmsign2KeyId(k));
const unsigned = answerModule();
const SETS = 64;
const PER_SET = 256;
const none = () => undefined;

/** A verify function that counts its calls and otherwise is the real one. */
function counting() {
  const counter = {
    calls: 0,
    ed25519Verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => {
      counter.calls++;
      return ed25519Verify(signature, message, publicKey);
    },
  };
  return counter;
}

/** 64 covering sets of 256 distinct junk signatures, the n-th named by `keyId(n)`. */
function hostile(keyId: (n: number) => Uint8Array | undefined, last: ReturnType<typeof genuineSignature>[] = []): Uint8Array {
  const sets = Array.from({ length: SETS }, (_, s) => junkSignatures(PER_SET, keyId, s * PER_SET));
  sets[SETS - 1] = [...sets[SETS - 1]!.slice(0, PER_SET - last.length), ...last];
  return withCoveringSets(unsigned, sets);
}

describe('bounded signature verification', () => {
  it('the bounds are the documented ones', () => {
    expect(MAX_ED25519_VERIFICATIONS).toBe(16);
    expect(MAX_ANONYMOUS_SIGNATURES).toBe(2);
  });

  it('64 × 256 distinct signatures without a key id: refused after 16 verifications, not 262,144', () => {
    const module = hostile(none);
    expect(module.length).toBeGreaterThan(1_100_000); // the 1.1 MB module of the report
    const counter = counting();
    const e = loadError(() => verifyModule(module, trusted, counter), 'ESIGNATURE', 'signature');
    expect(counter.calls).toBe(MAX_ED25519_VERIFICATIONS);
    expect(e.message).toMatch(
      /^too many signatures to check: found no trusted signer within 16 Ed25519 verifications .*16383 of 16384 signatures left unchecked/,
    );
    expect(e.details).toMatchObject({ attempts: 16, limit: 16, anonymousLimit: 2, unchecked: 16383, signatures: 16384 });
    // The real verify function takes the same path.
    expect(loadError(() => verifyModule(module, trusted), 'ESIGNATURE', 'signature').details).toMatchObject({ attempts: 16, unchecked: 16383 });
  });

  it('64 × 256 distinct signatures naming the trusted keys: each key is tried once (16 verifications)', () => {
    const counter = counting();
    const e = loadError(
      () =>
        verifyModule(
          hostile((n) => ids[n % 16]),
          trusted,
          counter,
        ),
      'ESIGNATURE',
      'signature',
    );
    expect(counter.calls).toBe(16);
    expect(e.details.keys).toEqual(trusted.map((k) => k.kid));
    expect(e.message).toMatch(/^signature does not verify: expected a valid Ed25519 signature by trusted key .* … \(16 in all\), got an invalid one$/);
  });

  it('64 × 256 signatures by key ids no trusted key has: EUNTRUSTED without one verification, and a short message', () => {
    const counter = counting();
    const e = loadError(
      () =>
        verifyModule(
          hostile((n) => Uint8Array.from({ length: 12 }, (_, i) => ((n >> (8 * (i % 4))) & 0xff) ^ i)),
          trusted,
          counter,
        ),
      'EUNTRUSTED',
      'trust',
    );
    expect(counter.calls).toBe(0);
    expect(e.details.signatures).toBe(16384);
    expect((e.details.signers as string[]).length).toBe(64);
    expect(e.message.length).toBeLessThan(2000);
    expect(e.message).toMatch(
      /got signatures by key id (?:[0-9a-f]{24}, ){7}[0-9a-f]{24} … \(16384 signatures by no trusted key\) \(wasmsign2 key ids, hex\)$/,
    );
  });

  it('a genuine signature by key id is found with one verification, whatever junk without a key id surrounds it', () => {
    const counter = counting();
    const module = hostile(none, [genuineSignature(unsigned, keys[9]!.seed, ids[9])]);
    expect(verifyModule(module, trusted, counter)).toEqual({ signers: [keys[9]!.kid] });
    expect(counter.calls).toBe(1);
  });

  it('identical signatures count once: 16,384 copies of one signature cost at most one try per key', () => {
    const good = genuineSignature(unsigned, keys[15]!.seed);
    const copies = (entry: typeof good) =>
      withCoveringSets(
        unsigned,
        Array.from({ length: SETS }, () => Array.from({ length: PER_SET }, () => entry)),
      );
    const counter = counting();
    expect(verifyModule(copies(good), trusted, counter).signers).toEqual([keys[15]!.kid]);
    expect(counter.calls).toBe(16); // keys 0…14 fail, key 15 verifies
    const junk = counting();
    expect(loadError(() => verifyModule(copies(junkSignatures(1, none)[0]!), trusted, junk), 'EUNTRUSTED', 'trust').details.signers).toEqual(['anonymous']);
    expect(junk.calls).toBe(16);
  });

  it('without a key id, verification stops at the first trusted signer', () => {
    const module = withCoveringSets(unsigned, [[genuineSignature(unsigned, keys[0]!.seed), genuineSignature(unsigned, keys[1]!.seed)]]);
    const counter = counting();
    expect(verifyModule(module, trusted, counter).signers).toEqual([keys[0]!.kid]);
    expect(counter.calls).toBe(1);
  });

  it('signatures without a key id are not tried when a key id found a trusted signer', () => {
    const module = withCoveringSets(unsigned, [[genuineSignature(unsigned, keys[3]!.seed), genuineSignature(unsigned, keys[2]!.seed, ids[2])]]);
    const counter = counting();
    expect(verifyModule(module, trusted, counter).signers).toEqual([keys[2]!.kid]);
    expect(counter.calls).toBe(1);
  });

  it('several signers by key id are all reported, one verification each', () => {
    const module = [keys[4]!, keys[1]!, keys[7]!].reduce((m, k) => signModule(m, k), unsigned);
    const counter = counting();
    expect(verifyModule(module, trusted, counter).signers).toEqual([keys[1]!.kid, keys[4]!.kid, keys[7]!.kid]);
    expect(counter.calls).toBe(3);
  });

  it('a third signature without a key id is left unchecked: ESIGNATURE, not EUNTRUSTED', () => {
    const module = withCoveringSets(unsigned, [junkSignatures(3, none)]);
    const counter = counting();
    const e = loadError(() => verifyModule(module, trusted.slice(0, 4), counter), 'ESIGNATURE', 'signature');
    expect(counter.calls).toBe(2 * 4);
    expect(e.details).toMatchObject({ attempts: 8, unchecked: 1, signatures: 3 });
  });

  it('a key id longer than any key id we give is never hex-encoded whole', () => {
    const module = withCoveringSets(unsigned, [[{ keyId: new Uint8Array(100_000).fill(0xab), algorithm: 1, signature: new Uint8Array(64) }]]);
    const e = loadError(() => verifyModule(module, trusted), 'EUNTRUSTED', 'trust');
    expect(e.details.signers).toEqual([`${'ab'.repeat(32)}… (100000 bytes)`]);
  });

  it('refuses an ed25519Verify option that is not a function (EUSAGE)', () => {
    expect(() => verifyModule(signModule(unsigned, keys[0]!), trusted, { ed25519Verify: 'yes' as never })).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});
