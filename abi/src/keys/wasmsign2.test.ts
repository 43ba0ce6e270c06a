// wasmsign2's key file formats and key id (the binary itself is exercised in abi/test/signature/wasmsign2.test.ts).
import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { privateKeyFromSeed } from './key.js';
import { fromWasmsign2PublicKey, fromWasmsign2SecretKey, toWasmsign2PublicKey, toWasmsign2SecretKey, wasmsign2KeyId } from './wasmsign2.js';

const key = privateKeyFromSeed(hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
const PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('wasmsign2 key formats', () => {
  it('public key = 0x01 ‖ 32 bytes', () => {
    expect(hex(toWasmsign2PublicKey(key))).toBe(`01${PUB}`);
    expect(fromWasmsign2PublicKey(toWasmsign2PublicKey(key))).toEqual(key.publicKey);
  });

  it('secret key = 0x81 ‖ seed ‖ public key', () => {
    expect(hex(toWasmsign2SecretKey(key))).toBe(`81${hex(key.seed)}${PUB}`);
    expect(fromWasmsign2SecretKey(toWasmsign2SecretKey(key))).toEqual(key);
  });

  it('rejects wrong tags, lengths and a mismatched public half with EUSAGE', () => {
    const pub = toWasmsign2PublicKey(key);
    const sec = toWasmsign2SecretKey(key);
    expect(() => fromWasmsign2PublicKey(sec)).toThrow(/public key: expected type tag 0x1, got 0x81/);
    expect(() => fromWasmsign2SecretKey(pub)).toThrow(/secret key: expected type tag 0x81, got 0x01/);
    expect(() => fromWasmsign2PublicKey(pub.subarray(0, 20))).toThrow(/expected 33 bytes, got 20/);
    expect(() => fromWasmsign2SecretKey(new Uint8Array(0))).toThrow(/got an empty file/);
    const mismatched = sec.slice();
    mismatched[40]! ^= 1;
    expect(() => fromWasmsign2SecretKey(mismatched)).toThrow(/expected public half d75a98.* \(derived from the seed\), got/);
  });

  it('key id = HMAC-SHA256(key = public key, "key_id")[0..12]', () => {
    const id = wasmsign2KeyId(key);
    expect(id.length).toBe(12);
    expect(wasmsign2KeyId(key.publicKey)).toEqual(id);
    // Computed independently with node:crypto.
    return import('node:crypto').then(({ createHmac }) => {
      expect(hex(id)).toBe(createHmac('sha256', Buffer.from(PUB, 'hex')).update('key_id').digest('hex').slice(0, 24));
    });
  });
});
