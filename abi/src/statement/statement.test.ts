/** Signed statements: a known-answer vector checked by Node's own Ed25519, and every way to forge one. */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, privateKeyFromSeed } from '../keys/index.js';
import { signStatement, verifyStatement } from './statement.js';

// RFC 8032 §7.1 test 1's secret key.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const key = privateKeyFromSeed(new Uint8Array(SEED));
const TYPE = 'mcp0.test/1';

describe('signStatement', () => {
  it('signs the canonical JSON of the statement without sig (checked by node:crypto)', () => {
    const s = signStatement(TYPE, { seq: 41, head: '12345', time: 1765000000000, nested: { b: [1, 'x'], a: true } }, key);
    expect(s.signer).toBe(key.kid);
    const canonical = `{"head":"12345","nested":{"a":true,"b":[1,"x"]},"seq":41,"signer":"${key.kid}","time":1765000000000,"type":"mcp0.test/1"}`;
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey.bytes).toString('base64url') }, format: 'jwk' });
    expect(nodeVerify(null, Buffer.from(canonical), pub, Buffer.from(s.sig, 'base64url'))).toBe(true);
    // Ed25519 is deterministic: the vector is fixed.
    expect(signStatement(TYPE, { seq: 41, head: '12345', time: 1765000000000, nested: { b: [1, 'x'], a: true } }, key).sig).toBe(s.sig);
  });

  it('refuses bodies that set the envelope or hold non-JSON values', () => {
    expect(() => signStatement(TYPE, { sig: 'x' }, key)).toThrow(/envelope/);
    expect(() => signStatement(TYPE, { n: 1.5 }, key)).toThrow(/\/n: expected an integer/);
  });
});

describe('verifyStatement', () => {
  const s = signStatement(TYPE, { seq: 7, head: '99' }, key);

  it('returns the statement and the key that signed it', () => {
    const v = verifyStatement(JSON.parse(JSON.stringify(s)), TYPE, [generateKeyPair().publicKey, key.publicKey]);
    expect(v.statement.seq).toBe(7);
    expect(v.key.kid).toBe(key.kid);
  });

  it.each([
    ['a changed member', { ...s, seq: 8 }, /does not verify/],
    ['an added member', { ...s, extra: 1 }, /does not verify/],
    ['another type', { ...s, type: 'mcp0.other/1' }, /expected a statement of type mcp0\.test\/1, got "mcp0\.other\/1"/],
    ['a signer swapped for a trusted key', { ...s, signer: 'other' }, /signed by other, which is not a trusted key/],
    ['no sig', { ...s, sig: undefined }, /unsigned/],
    ['a sig that is not base64url', { ...s, sig: '!!' }, /not base64url/],
    ['a truncated sig', { ...s, sig: s.sig.slice(0, 40) }, /does not verify/],
    ['a fraction', { ...s, seq: 7.5 }, /expected an integer/],
    ['not an object', [s], /got an array/],
  ])('refuses %s', (_what, value, message) => {
    expect(() => verifyStatement(value, TYPE, [key.publicKey])).toThrow(message);
  });

  it('refuses a statement signed by a key that is not trusted, naming it and the trusted ids', () => {
    const other = generateKeyPair();
    expect(() => verifyStatement(signStatement(TYPE, { seq: 1 }, other), TYPE, [key.publicKey])).toThrow(
      new RegExp(`signed by ${other.kid}, which is not a trusted key \\(trusted: ${key.kid}\\)`),
    );
    expect(() => verifyStatement(s, TYPE, [])).toThrow(/trusted: none/);
  });
});
