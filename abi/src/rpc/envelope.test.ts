// The rpc envelope: a known-answer vector (abi/corpus/rpc/envelope-v1.json, which the other
// languages' clients check too), its signature checked by node:crypto, and every way to forge one.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../cbor/index.js';
import { generateKeyPair, privateKeyFromSeed } from '../keys/index.js';
import { decodeEnvelope, ENVELOPE_DOMAIN, envelopeHash, signEnvelope, verifyEnvelope } from './envelope.js';

const vector = JSON.parse(readFileSync(new URL('../../corpus/rpc/envelope-v1.json', import.meta.url), 'utf8'));
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const key = privateKeyFromSeed(fromHex(vector.seed));
const payload = fromHex(vector.payload);
const made = () =>
  signEnvelope({ key, target: vector.target, method: vector.method, payload, deadline: vector.deadline, time: vector.time, nonce: fromHex(vector.nonce) });

/** The envelope with `edit` applied to its decoded map, re-encoded (the signature left as it was). */
function edited(edit: (m: Record<string, unknown>) => void): Uint8Array {
  const m = decodeCbor(made()) as Record<string, unknown>;
  edit(m);
  return encodeCbor(m);
}

describe('signEnvelope', () => {
  it('gives the known-answer bytes', () => {
    expect(Buffer.from(made()).toString('hex')).toBe(vector.envelope);
    expect(key.kid).toBe(vector.caller);
  });

  it('signs the domain tag and the CBOR of the envelope without sig (checked by node:crypto)', () => {
    const { sig, ...unsigned } = decodeCbor(made()) as Record<string, unknown> & { sig: Uint8Array };
    const message = Buffer.concat([Buffer.from(ENVELOPE_DOMAIN), encodeCbor(unsigned)]);
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey.bytes).toString('base64url') }, format: 'jwk' });
    expect(nodeVerify(null, message, pub, sig)).toBe(true);
  });

  it('makes a fresh nonce and the time now when not given', () => {
    const a = decodeEnvelope(signEnvelope({ key, target: 't', method: 'm', payload, deadline: Date.now() + 1000 }));
    const b = decodeEnvelope(signEnvelope({ key, target: 't', method: 'm', payload, deadline: Date.now() + 1000 }));
    expect(Buffer.compare(a.nonce, b.nonce)).not.toBe(0);
    expect(a.time).toBeGreaterThan(vector.time);
  });
});

describe('verifyEnvelope', () => {
  it('answers the envelope when it holds', () => {
    const e = verifyEnvelope(made(), payload);
    expect(e).toMatchObject({ caller: vector.caller, target: 'notes', method: 'remember', time: vector.time, deadline: vector.deadline });
    expect(envelopeHash(made())).toHaveLength(32);
  });

  it('refuses every forgery with ESIGNATURE', () => {
    const forgeries: [string, Uint8Array, Uint8Array][] = [
      ['another payload', made(), encodeCbor({ text: 'sell milk' })],
      ['another target', edited((m) => (m.target = 'wallet')), payload],
      ['a later deadline', edited((m) => (m.deadline = vector.deadline + 1)), payload],
      ['another key, same caller', edited((m) => (m.key = generateKeyPair().publicKey.bytes)), payload],
      ['another caller, same key', edited((m) => (m.caller = generateKeyPair().kid)), payload],
      ['a flipped signature bit', edited((m) => ((m.sig as Uint8Array)[0]! ^= 1)), payload],
    ];
    for (const [what, bytes, p] of forgeries) expect(() => verifyEnvelope(bytes, p), what).toThrow(expect.objectContaining({ code: 'ESIGNATURE' }));
    // Signed by a key other than the one it names: the thumbprint check catches it before the signature.
    const mallory = generateKeyPair();
    const swapped = edited((m) => {
      m.key = mallory.publicKey.bytes;
      m.caller = mallory.kid;
    });
    expect(() => verifyEnvelope(swapped, payload)).toThrow(/the signature of .* does not verify/);
  });

  it('refuses malformed envelopes with EINPUT naming the member', () => {
    const cases: [Uint8Array, RegExp][] = [
      [edited((m) => (m.v = 2)), /"v" expected 1, got 2/],
      [edited((m) => (m.nonce = new Uint8Array(8))), /"nonce" expected 16 bytes, got 8 bytes/],
      [edited((m) => (m.time = -1)), /"time" expected an integer/],
      [edited((m) => (m.extra = 1)), /unknown member "extra"/],
      [edited((m) => delete m.method), /"method" expected text, got undefined/],
      [encodeCbor([1, 2]), /expected a CBOR map/],
      // v as the half-precision float 1.0 (f9 3c00) in place of the integer 1 (01): same value, other bytes.
      [Buffer.from(Buffer.from(made()).toString('hex').replace('617601', '6176f93c00'), 'hex'), /not in the deterministic CBOR encoding/],
      [Uint8Array.of(0xff), /CBOR/],
    ];
    for (const [bytes, message] of cases) expect(() => verifyEnvelope(bytes, payload)).toThrow(message);
  });
});
