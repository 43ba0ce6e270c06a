// Known answers for our Ed25519 wiring: RFC 8032 §7.1 test vectors (key derivation, signature, verification).
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519PublicKeyProblem, ed25519Sign, ed25519Verify } from './ed25519.js';

const VECTORS = [
  {
    name: 'TEST 1 (empty message)',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (1-byte message)',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (2-byte message)',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc) (64-byte message)',
    seed: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    pub: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    msg: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

describe('Ed25519, RFC 8032 §7.1', () => {
  for (const v of VECTORS) {
    it(`${v.name}: derives the public key, signs byte-exactly, verifies`, () => {
      const seed = hexToBytes(v.seed);
      const msg = hexToBytes(v.msg);
      expect(bytesToHex(ed25519PublicKey(seed))).toBe(v.pub);
      expect(bytesToHex(ed25519Sign(msg, seed))).toBe(v.sig);
      expect(ed25519Verify(hexToBytes(v.sig), msg, hexToBytes(v.pub))).toBe(true);
    });

    it(`${v.name}: rejects a flipped signature bit and a changed message`, () => {
      const sig = hexToBytes(v.sig);
      sig[5]! ^= 0x01;
      expect(ed25519Verify(sig, hexToBytes(v.msg), hexToBytes(v.pub))).toBe(false);
      expect(ed25519Verify(hexToBytes(v.sig), Uint8Array.of(...hexToBytes(v.msg), 0), hexToBytes(v.pub))).toBe(false);
    });
  }

  it('the SHA(abc) vector message is SHA-512("abc")', () => {
    expect(bytesToHex(sha512(new TextEncoder().encode('abc')))).toBe(VECTORS[3]!.msg);
  });

  it('returns false, never throws, for malformed signatures and keys', () => {
    const { sig, msg, pub } = VECTORS[1]!;
    expect(ed25519Verify(hexToBytes(sig).subarray(1), hexToBytes(msg), hexToBytes(pub))).toBe(false);
    expect(ed25519Verify(hexToBytes(sig), hexToBytes(msg), new Uint8Array(31))).toBe(false);
    expect(ed25519Verify(new Uint8Array(64).fill(0xff), hexToBytes(msg), hexToBytes(pub))).toBe(false);
  });

  it('flags non-points and small-order public keys', () => {
    expect(ed25519PublicKeyProblem(hexToBytes(VECTORS[0]!.pub))).toBeUndefined();
    // The identity point (y = 1) has order 1.
    expect(ed25519PublicKeyProblem(Uint8Array.of(1, ...new Uint8Array(31)))).toMatch(/small-order/);
    // y = 2 is not on the curve.
    expect(ed25519PublicKeyProblem(Uint8Array.of(2, ...new Uint8Array(31)))).toMatch(/not a point/);
  });
});
