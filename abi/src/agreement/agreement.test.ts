/**
 * Host-side agreements: schema validation with clear errors (hostile values included), signing
 * and verifying over canonical JSON, key-id parties, templates and `key=value` overrides.
 */
import { describe, expect, it } from 'vitest';
import canonicalize from 'canonicalize';
import { generateKeyPair } from '../keys/index.js';
import {
  AgreementError, agreementSigningBytes, agreementTemplates, MAX_AGREEMENT_BYTES, newAgreement, parseAgreement, readAgreementTemplate, signAgreement, validateAgreement, verifyAgreement,
  type Agreement,
} from './index.js';

const consumer = generateKeyPair();
const provider = generateKeyPair();
const T = 1_800_000_000_000;
const base = (): Agreement => newAgreement('business', { consumer: 'acme.notes', provider: 'mcp0.node', id: 'agr-x', notBefore: T });
const both = (d: Agreement) => signAgreement(signAgreement(d, consumer, 'consumer'), provider, 'provider');

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
      const d = newAgreement(name, { consumer: 'a', provider: 'b', notBefore: T });
      expect(d).toMatchObject({ type: 'mcp0.agreement/1', plan: name, quotas: t.quotas, pricing: t.pricing, validity: { notBefore: T, notAfter: T + t.durationMs } });
    }
    expect(thrown(() => readAgreementTemplate('gold')).message).toContain('expected one of business, enterprise, free, personal');
  });

  it('applies --set overrides, with ISO dates for validity and JSON for arrays', () => {
    const d = newAgreement('free', {
      consumer: 'a', provider: 'b', notBefore: T,
      set: { 'quotas.callsPerWindow': '5', 'validity.notAfter': '2027-06-01T00:00:00Z', 'permissions.intents': '["get*","put"]', 'pricing.currency': 'USD' },
    });
    expect(d.quotas.callsPerWindow).toBe(5);
    expect(d.validity.notAfter).toBe(Date.parse('2027-06-01T00:00:00Z'));
    expect(d.permissions.intents).toEqual(['get*', 'put']);
    expect(d.pricing.currency).toBe('USD');
    expect(thrown(() => newAgreement('free', { consumer: 'a', provider: 'b', set: { 'quotas.windowMs': '1.5' } })).message).toMatch(/windowMs must be integer/);
    expect(thrown(() => newAgreement('free', { consumer: 'a', provider: 'b', set: { 'validity.notAfter': 'tomorrow' } })).message).toContain('ISO 8601');
    expect(thrown(() => newAgreement('free', { consumer: 'a', provider: 'b', set: { '__proto__.x': '1' } })).code).toBe('EUSAGE');
    expect(thrown(() => newAgreement('free', { consumer: 'a', provider: 'b', set: { 'quotas.extra': '1' } })).message).toContain('must NOT have additional properties');
  });

  it('refuses hostile values with EINPUT or ETOOBIG', () => {
    expect(thrown(() => parseAgreement('{"id":')).code).toBe('EINPUT');
    expect(thrown(() => parseAgreement(`"${'x'.repeat(MAX_AGREEMENT_BYTES)}"`)).code).toBe('ETOOBIG');
    expect(thrown(() => validateAgreement([1, 2])).message).toContain('expected a JSON object, got');
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(thrown(() => validateAgreement(deep)).message).toContain('nesting deeper than 8');
    expect(thrown(() => validateAgreement({ ...base(), validity: { notBefore: T, notAfter: T } })).message).toContain('notBefore < notAfter');
    expect(thrown(() => validateAgreement({ ...base(), consumer: 'a/b' })).message).toContain('/consumer must match pattern');
    expect(thrown(() => validateAgreement({ ...base(), quotas: { windowMs: 2 ** 60 } })).message).toContain('must be <= 9007199254740991');
  });
});

describe('strict JSON text', () => {
  it('refuses an agreement naming "perCall" twice in pricing, though the last value is the signed one', () => {
    const d = both(newAgreement('business', { consumer: 'acme.notes', provider: 'mcp0.node', id: 'agr-dup', notBefore: T, set: { 'pricing.perCall': '7' } }));
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
    expect(thrown(() => parseAgreement(text.replace('"intents":[', '"intents":["*"],"intents":['))).message).toContain('duplicate member "intents" at /permissions/intents');
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
