/**
 * register, get and revoke through the real kernel: the plugin verifies both signatures itself
 * (through the crypto capability, over canonical JSON it computes), and refuses tampered, wrongly
 * signed, single-signed and hostile documents with a typed error while its stored state stays as
 * it was.
 */
import { describe, expect, it } from 'vitest';
import { agreementSigningBytes, ed25519Sign, encodeCbor, generateKeyPair, signAgreement, type Agreement } from '@mcp0/abi';
import { MemoryStore } from '@mcp0/sdk';
import { agree, CONSUMER, consumerKey, doc, HELLO, makeKernel, NAME, op, providerKey, register, rejection, signed, T0 } from './helpers.js';

describe('register', () => {
  it('registers a document signed by both parties and returns it from get', async () => {
    const kernel = await makeKernel();
    const d = signed(doc());
    expect(await register(kernel, d)).toEqual({
      id: 'agr-1',
      consumer: consumerKey.kid,
      provider: providerKey.kid,
      consumerKey: consumerKey.kid,
      providerKey: providerKey.kid,
    });
    const got = (await kernel.callValue(NAME, 'get', { id: 'agr-1' })) as Record<string, unknown>;
    expect(got.document).toEqual(d);
    expect(got).toMatchObject({ revoked: false, revokedAt: null, consumerKey: consumerKey.kid, providerKey: providerKey.kid });
    // The same document again is accepted (idempotent); another one under the same id is not.
    await register(kernel, d);
    const other = signed(doc({ quotas: { windowMs: 1000 } }));
    expect((await rejection(register(kernel, other))).code).toBe('ECONFLICT');
    await kernel.stop();
  });

  it('refuses a tampered document', async () => {
    const kernel = await makeKernel();
    const d = signed(doc());
    const tampered = { ...d, quotas: { windowMs: 60_000, callsPerWindow: 1_000_000 } };
    const e = await rejection(register(kernel, tampered));
    expect(e.code).toBe('ESIGNATURE');
    expect(e.message).toMatch(/consumer's signature does not verify/);
    await kernel.stop();
  });

  it("refuses a signature by a key that is not the party's key id", async () => {
    const kernel = await makeKernel();
    // The consumer is a key id, but the consumer signature is made by another key.
    const intruder = generateKeyPair();
    const d = doc();
    const body = signAgreement(signAgreement(d, providerKey, 'provider'), consumerKey, 'consumer');
    const forged = {
      party: 'consumer' as const,
      key: Buffer.from(intruder.publicKey.bytes).toString('base64url'),
      sig: Buffer.from(ed25519Sign(agreementSigningBytes(d), intruder.seed)).toString('base64url'),
    };
    const swapped: Agreement = { ...body, signatures: body.signatures!.map((s) => (s.party === 'consumer' ? forged : s)) };
    const e = await rejection(register(kernel, swapped));
    expect(e.code).toBe('ESIGNATURE');
    expect(e.message).toContain(`the consumer is the key ${consumerKey.kid}, but its signature is by ${intruder.kid}`);
    // With the right key it registers, and the consumer key id matches.
    expect(await register(kernel, body)).toMatchObject({ consumer: consumerKey.kid, consumerKey: consumerKey.kid });
    await kernel.stop();
  });

  it('refuses a signature moved to the other party, and one that signs another document', async () => {
    const kernel = await makeKernel();
    const d = signed(doc());
    const swappedParties = { ...d, signatures: d.signatures!.map((s) => ({ ...s, party: s.party === 'consumer' ? 'provider' : 'consumer' })) };
    // Both signatures still verify (they are over the same bytes), but each party is a key id and
    // must sign with that key.
    const swapped = await rejection(register(kernel, swappedParties));
    expect(swapped.code).toBe('ESIGNATURE');
    expect(swapped.message).toContain(`the consumer is the key ${consumerKey.kid}, but its signature is by ${providerKey.kid}`);
    const elsewhere = signed(doc({ id: 'agr-2' }));
    const replayed = { ...doc({ id: 'agr-3' }), signatures: elsewhere.signatures };
    expect((await rejection(register(kernel, replayed))).code).toBe('ESIGNATURE');
    await kernel.stop();
  });

  it('refuses single-signed and unsigned documents', async () => {
    const kernel = await makeKernel();
    const onlyConsumer = signAgreement(doc(), consumerKey, 'consumer');
    let e = await rejection(register(kernel, onlyConsumer));
    expect(e.code).toBe('ESIGNATURE');
    expect(e.message).toContain("the provider's is missing");
    const onlyProvider = signAgreement(doc(), providerKey, 'provider');
    e = await rejection(register(kernel, onlyProvider));
    expect(e.message).toContain("the consumer's is missing");
    e = await rejection(register(kernel, doc()));
    expect(e.code).toBe('ESIGNATURE');
    // Two signatures by the same party are a malformed document.
    const s = onlyConsumer.signatures![0]!;
    e = await rejection(register(kernel, { ...doc(), signatures: [s, s] }));
    expect(e.code).toBe('EINPUT');
    expect(e.message).toContain('at most one signature by the consumer');
    await kernel.stop();
  });
});

describe('hostile documents', () => {
  const good = signed(doc());
  const cases: [string, unknown, string, RegExp][] = [
    ['not a map', 'agreement', 'EINPUT', /expected a map, got text/],
    ['a float', { ...good, quotas: { windowMs: 1.5 } }, 'EINPUT', /windowMs: expected an integer/],
    ['a negative number', { ...good, pricing: { ...good.pricing, perCall: -1 } }, 'EINPUT', /perCall: expected an integer/],
    ['an integer past 2^53', { ...good, validity: { notBefore: 0, notAfter: 2n ** 60n } }, 'EINPUT', /notAfter: expected an integer from 0 to 2\^53/],
    ['a number as text', { ...good, quotas: { windowMs: '60000' } }, 'EINPUT', /windowMs: expected an integer/],
    ['an unknown member', { ...good, admin: true }, 'EINPUT', /unexpected member "admin"/],
    ['a wrong type tag', { ...good, type: 'mcp0.agreement/2' }, 'EINPUT', /type: expected "mcp0.agreement\/1"/],
    ['a slash in the consumer', { ...good, consumer: 'a/b' }, 'EINPUT', /consumer: character 1/],
    [
      'an agent id as the consumer',
      { ...good, consumer: 'acme.notes' },
      'EINPUT',
      /^invalid agreement: \/consumer: expected a key id \(the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters\), got "acme\.notes"$/,
    ],
    ['an agent id as the provider', { ...good, provider: 'mcp0.node' }, 'EINPUT', /\/provider: expected a key id .*, got "mcp0\.node"$/],
    [
      'one key as both parties',
      { ...good, provider: good.consumer },
      'EINPUT',
      /\/provider: expected a key other than the consumer's \(an agreement is between two parties\), got the consumer's key id/,
    ],
    ['an empty id', { ...good, id: '' }, 'EINPUT', /id: expected 1 to 128 characters/],
    ['a nested array as a glob', { ...good, permissions: { intents: [[[['x']]]], exports: [] } }, 'EINPUT', /intents\/0: expected text, got array/],
    ['too many globs', { ...good, permissions: { intents: Array(65).fill('x'), exports: [] } }, 'EINPUT', /at most 64 patterns/],
    ['an inverted validity', { ...good, validity: { notBefore: T0, notAfter: T0 } }, 'EINPUT', /notBefore < notAfter/],
    ['a short key', { ...good, signatures: [{ party: 'consumer', key: 'AAAA', sig: good.signatures![0]!.sig }] }, 'EINPUT', /key: expected a 32-byte/],
    ['a bad party', { ...good, signatures: [{ ...good.signatures![0]!, party: 'admin' }] }, 'EINPUT', /party: expected "consumer" or "provider"/],
    ['three signatures', { ...good, signatures: [...good.signatures!, good.signatures![0]!] }, 'EINPUT', /at most 2 signatures/],
    ['a huge document', { ...good, plan: 'x'.repeat(70_000) }, 'ETOOBIG', /at most 65536 bytes/],
  ];

  it.each(cases)('refuses %s with a clear error, and the stored state stays intact', async (_name, value, code, message) => {
    const kernel = await makeKernel();
    await agree(kernel, good);
    expect((await op(kernel, T0)).ok).toBe(true);
    const before = await kernel.callValue(NAME, 'get', { id: 'agr-1' });
    const usageBefore = await kernel.callValue(NAME, 'usage', { consumer: CONSUMER, window: T0 });
    const e = await rejection(register(kernel, value));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(await kernel.callValue(NAME, 'get', { id: 'agr-1' })).toEqual(before);
    expect(await kernel.callValue(NAME, 'usage', { consumer: CONSUMER, window: T0 })).toEqual(usageBefore);
    expect((await op(kernel, T0 + 1)).ok).toBe(true);
    await kernel.stop();
  });

  it('refuses deep nesting and garbage bytes at the decoder', async () => {
    const kernel = await makeKernel();
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect((await rejection(kernel.call(NAME, 'register', encodeCbor({ document: deep as never })))).code).toBe('EINPUT');
    expect((await rejection(kernel.call(NAME, 'register', new Uint8Array([0xbf, 0xff, 0x00])))).code).toBe('EINPUT');
    expect((await rejection(kernel.call(NAME, 'register', new Uint8Array(0)))).code).toBe('EINPUT');
    expect((await rejection(kernel.callValue(NAME, 'register', { doc: 1 }))).message).toContain('"document" is missing');
    await kernel.stop();
  });
});

describe('a register that did not finish', () => {
  it('leaves an index entry that readers skip and a retried register completes', async () => {
    const kv = new MemoryStore().kv;
    // What a crash between the two writes of register leaves: the consumer index entry alone.
    kv.put(NAME, `agreements/c/${CONSUMER}/agr-1`, new Uint8Array(0));
    const kernel = await makeKernel(kv);
    expect(((await op(kernel, T0)) as { reason: string }).reason).toBe(`no-agreement: no agreement is bound to ${HELLO}`);
    expect(((await kernel.callValue(NAME, 'usage', { consumer: CONSUMER, window: T0 })) as { agreements: unknown[] }).agreements).toEqual([]);
    expect(((await kernel.callValue(NAME, 'invoice', { consumer: CONSUMER, from: T0, to: T0 + 3_600_000 })) as { lines: unknown[] }).lines).toEqual([]);
    await agree(kernel, signed(doc()));
    expect((await op(kernel, T0)).ok).toBe(true);
    await kernel.stop();
  });
});

describe('revoke', () => {
  it('denies from the next operation on, and the id is never reused', async () => {
    const kernel = await makeKernel();
    await agree(kernel, signed(doc()));
    expect((await op(kernel, T0)).ok).toBe(true);
    const r = (await kernel.callValue(NAME, 'revoke', { id: 'agr-1' })) as { revoked: boolean; revokedAt: number };
    expect(r.revoked).toBe(true);
    const denied = await op(kernel, T0 + 1);
    expect(denied).toMatchObject({ ok: false, code: 'EDENIED' });
    expect((denied as { reason: string }).reason).toMatch(/^revoked: agreement agr-1 was revoked at /);
    expect((await rejection(register(kernel, signed(doc())))).code).toBe('ESTATE');
    expect((await rejection(kernel.callValue(NAME, 'revoke', { id: 'nope' }))).code).toBe('ENOTFOUND');
    await kernel.stop();
  });
});
