/**
 * Host-side agreements: schema validation with clear errors (hostile values included), signing
 * and verifying over canonical JSON, key-id parties (two different keys), templates and
 * `key=value` overrides.
 */
import { describe, expect, it } from 'vitest';
import canonicalize from 'canonicalize';
import { ed25519Sign } from '../keys/ed25519.js';
import { base64urlEncode } from '../keys/base64url.js';
import { generateKeyPair, type PrivateKey } from '../keys/index.js';
import {
  AgreementError,
  agreementSigningBytes,
  agreementTemplates,
  MAX_AGREEMENT_BYTES,
  newAgreement,
  parseAgreement,
  readAgreementTemplate,
  signAgreement,
  validateAgreement,
  verifyAgreement,
  type Agreement,
} from './index.js';

const consumer = generateKeyPair();
const provider = generateKeyPair();
const T = 1_800_000_000_000;
const parties = { consumer: consumer.kid, provider: provider.kid };
const base = (): Agreement => newAgreement('business', { ...parties, id: 'agr-x', notBefore: T });
const both = (d: Agreement) => signAgreement(signAgreement(d, consumer, 'consumer'), provider, 'provider');

/**
 * A signature made without signAgreement's checks: what a hostile signer can always produce
 * (Ed25519 over the canonical JSON of whatever document it likes).
 */
function forceSign(d: Agreement, key: PrivateKey, party: 'consumer' | 'provider'): Agreement {
  const { signatures, ...body } = d;
  const sig = ed25519Sign(new TextEncoder().encode(canonicalize(body)!), key.seed);
  return { ...d, signatures: [...(signatures ?? []), { party, key: base64urlEncode(key.publicKey.bytes), sig: base64urlEncode(sig) }] };
}

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('agreement documents', () => {
  it('every shipped template makes a valid agreement', () => {
    expect(agreementTemplates()).toEqual(['business', 'enterprise', 'free', 'personal']);
    for (const name of agreementTemplates()) {
      const t = readAgreementTemplate(name);
      const d = newAgreement(name, { ...parties, notBefore: T });
      expect(d).toMatchObject({
        type: 'mcp0.agreement/1',
        plan: name,
        quotas: t.quotas,
        pricing: t.pricing,
        validity: { notBefore: T, notAfter: T + t.durationMs },
      });
    }
    expect(thrown(() => readAgreementTemplate('gold')).message).toContain('expected one of business, enterprise, free, personal');
  });

  it('applies --set overrides, with ISO dates for validity and JSON for arrays', () => {
    const d = newAgreement('free', {
      ...parties,
      notBefore: T,
      set: { 'quotas.callsPerWindow': '5', 'validity.notAfter': '2027-06-01T00:00:00Z', 'permissions.intents': '["get*","put"]', 'pricing.currency': 'USD' },
    });
    expect(d.quotas.callsPerWindow).toBe(5);
    expect(d.validity.notAfter).toBe(Date.parse('2027-06-01T00:00:00Z'));
    expect(d.permissions.intents).toEqual(['get*', 'put']);
    expect(d.pricing.currency).toBe('USD');
    expect(thrown(() => newAgreement('free', { ...parties, set: { 'quotas.windowMs': '1.5' } })).message).toMatch(/windowMs must be integer/);
    expect(thrown(() => newAgreement('free', { ...parties, set: { 'validity.notAfter': 'tomorrow' } })).message).toContain('ISO 8601');
    expect(thrown(() => newAgreement('free', { ...parties, set: { '__proto__.x': '1' } })).code).toBe('EUSAGE');
    expect(thrown(() => newAgreement('free', { ...parties, set: { 'quotas.extra': '1' } })).message).toContain('must NOT have additional properties');
  });

  it('refuses hostile values with EINPUT or ETOOBIG', () => {
    expect(thrown(() => parseAgreement('{"id":')).code).toBe('EINPUT');
    expect(thrown(() => parseAgreement(`"${'x'.repeat(MAX_AGREEMENT_BYTES)}"`)).code).toBe('ETOOBIG');
    expect(thrown(() => validateAgreement([1, 2])).message).toContain('expected a JSON object, got');
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(thrown(() => validateAgreement(deep)).message).toContain('nesting deeper than 8');
    expect(thrown(() => validateAgreement({ ...base(), validity: { notBefore: T, notAfter: T } })).message).toContain('notBefore < notAfter');
    expect(thrown(() => validateAgreement({ ...base(), consumer: 'a/b' })).message).toContain(
      '/consumer: expected a key id (the RFC 7638 thumbprint of the party\'s Ed25519 key, 43 base64url characters), got "a/b"',
    );
    expect(thrown(() => validateAgreement({ ...base(), quotas: { windowMs: 2 ** 60 } })).message).toContain('must be <= 9007199254740991');
  });
});

describe('strict JSON text', () => {
  it('refuses an agreement naming "perCall" twice in pricing, though the last value is the signed one', () => {
    const d = both(newAgreement('business', { ...parties, id: 'agr-dup', notBefore: T, set: { 'pricing.perCall': '7' } }));
    const text = JSON.stringify(d, null, 2);
    expect(parseAgreement(text)).toEqual(d);
    // A reader (or a viewer that keeps the first) sees a price of 0; JSON.parse keeps the signed 7.
    const twice = text.replace('"perCall": 7', '"perCall": 0,\n    "perCall": 7');
    expect(verifyAgreement(JSON.parse(twice)).consumerKey).toBe(consumer.kid);
    const e = thrown(() => parseAgreement(twice)) as { code: string; message: string; details: Record<string, unknown> };
    expect(e).toBeInstanceOf(AgreementError);
    expect(e.code).toBe('EINPUT');
    expect(e.details).toMatchObject({ key: 'perCall', path: '/pricing/perCall' });
    expect(e.message).toMatch(/^invalid agreement: duplicate member "perCall" at \/pricing\/perCall \(offset \d+\)/);
  });

  it('refuses a duplicate at any depth, and at the top', () => {
    const text = JSON.stringify(both(base()));
    expect(thrown(() => parseAgreement(text.replace('{"type":', '{"id":"agr-other","type":'))).message).toContain('duplicate member "id" at /id');
    expect(thrown(() => parseAgreement(text.replace('"intents":[', '"intents":["*"],"intents":['))).message).toContain(
      'duplicate member "intents" at /permissions/intents',
    );
  });
});

describe('signatures', () => {
  it('sign then verify names both signers; the signed bytes are canonical JSON without signatures', () => {
    const d = both(base());
    expect(verifyAgreement(d)).toMatchObject({ consumerKey: consumer.kid, providerKey: provider.kid });
    const { signatures, ...body } = d;
    expect(signatures).toHaveLength(2);
    expect(new TextDecoder().decode(agreementSigningBytes(d))).toBe(canonicalize(body));
    // Survives a JSON round trip with other key order and whitespace.
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(d).reverse()), null, 2));
    expect(verifyAgreement(reordered).consumerKey).toBe(consumer.kid);
  });

  it('refuses tampered, single-signed and wrongly signed documents with ESIGNATURE', () => {
    const d = both(base());
    const tampered = { ...d, pricing: { ...d.pricing, perCall: 0 } };
    expect(thrown(() => verifyAgreement(tampered))).toMatchObject({ code: 'ESIGNATURE' });
    expect(thrown(() => verifyAgreement(signAgreement(base(), consumer, 'consumer'))).message).toContain("the provider's is missing");
    const other = generateKeyPair();
    const keyed = { ...base(), provider: provider.kid };
    expect(thrown(() => signAgreement(keyed, other, 'provider')).message).toContain(`the key ${provider.kid}, but the signing key is ${other.kid}`);
    const signedByKey = both(keyed);
    expect(verifyAgreement(signedByKey).providerKey).toBe(provider.kid);
    // A provider signature by another key, over the right bytes, is caught by the key-id rule.
    const forged = signAgreement({ ...keyed, provider: other.kid }, other, 'provider').signatures!.find((s) => s.party === 'provider')!;
    const swapped = { ...signedByKey, signatures: signedByKey.signatures!.map((s) => (s.party === 'provider' ? forged : s)) };
    expect(thrown(() => verifyAgreement(swapped)).code).toBe('ESIGNATURE');
  });
});

describe('parties are two different key ids (issue 12, defect 4)', () => {
  it('refuses a party that is an agent id, in every entry point, naming expected and got', () => {
    const expected = 'expected a key id (the RFC 7638 thumbprint of the party\'s Ed25519 key, 43 base64url characters), got "acme.notes"';
    const made = thrown(() => newAgreement('business', { consumer: 'acme.notes', provider: provider.kid, notBefore: T }));
    expect(made).toMatchObject({ code: 'EINPUT' });
    expect(made.message).toContain(`/consumer: ${expected}`);
    expect(thrown(() => validateAgreement({ ...base(), provider: 'acme.notes' })).message).toContain(`/provider: ${expected}`);
    // Before this fix any key could sign for a party that was not a key id: such a document, signed
    // by two arbitrary keys, no longer verifies.
    const named = forceSign(forceSign({ ...base(), consumer: 'acme.notes' }, consumer, 'consumer'), provider, 'provider');
    const e = thrown(() => verifyAgreement(named));
    expect(e).toMatchObject({ code: 'EINPUT' });
    expect(e.message).toContain(`/consumer: ${expected}`);
    expect(thrown(() => signAgreement({ ...base(), consumer: 'acme.notes' }, consumer, 'consumer')).code).toBe('EINPUT');
    // Near misses of the key-id form: 42 and 44 characters, padding, a character outside base64url.
    for (const bad of [consumer.kid.slice(1), `${consumer.kid}A`, `${consumer.kid.slice(1)}=`, `${consumer.kid.slice(1)}.`]) {
      expect(thrown(() => validateAgreement({ ...base(), consumer: bad })).message, bad).toContain('/consumer: expected a key id');
    }
  });

  it('refuses one key as both parties: an enterprise plan at price 0 signed twice by the same key', () => {
    const self = thrown(() => newAgreement('enterprise', { consumer: consumer.kid, provider: consumer.kid, notBefore: T, set: { 'pricing.baseFee': '0' } }));
    expect(self.code).toBe('EINPUT');
    expect(self.message).toContain(
      `/provider: expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id ${consumer.kid}`,
    );
    // The same document, signed for both parties by that one key, as a hostile signer would.
    const doc = { ...newAgreement('enterprise', { ...parties, notBefore: T, set: { 'pricing.baseFee': '0' } }), provider: consumer.kid };
    const twice = forceSign(forceSign(doc, consumer, 'consumer'), consumer, 'provider');
    const e = thrown(() => verifyAgreement(twice));
    expect(e).toBeInstanceOf(AgreementError);
    expect(e).toMatchObject({ code: 'EINPUT' });
    expect(e.message).toContain("expected a key other than the consumer's");
    expect(thrown(() => signAgreement(doc, consumer, 'provider')).code).toBe('EINPUT');
  });

  it('refuses a signature moved to the other party: each party signs with its own key', () => {
    const d = both(base());
    const swapped = { ...d, signatures: d.signatures!.map((x) => ({ ...x, party: x.party === 'consumer' ? ('provider' as const) : ('consumer' as const) })) };
    const e = thrown(() => verifyAgreement(swapped));
    expect(e).toMatchObject({ code: 'ESIGNATURE' });
    expect(e.message).toContain(`the consumer is the key ${consumer.kid}, but its signature is by ${provider.kid}`);
  });
});
