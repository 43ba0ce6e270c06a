/**
 * Who the parties are (issue 12, defect 4), through the real kernel: the plugin accepts only
 * providers its operator lists in `config.providers`, refuses a config it cannot read at load,
 * refuses documents whose parties are not two different key ids even when both signatures verify
 * (made here without the host library's checks, as a hostile signer would), binds an agent only
 * for the agreement's consumer, and admits an operation only under the agent's bound agreement.
 */
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { ed25519Sign, generateKeyPair, type Agreement, type CborValue, type PrivateKey } from '@mcp0/abi';
import { MemoryStore } from '@mcp0/sdk';
import { agree, bind, consumerKey, doc, HELLO, loadError, makeKernel, NAME, op, plugins, providerKey, register, rejection, signed, T0 } from './helpers.js';

/** Ed25519 over the canonical JSON of any document: what a signer can always make, checks or not. */
function forceSign(d: Agreement, key: PrivateKey, party: 'consumer' | 'provider'): Agreement {
  const { signatures, ...body } = d;
  const sig = ed25519Sign(new TextEncoder().encode(canonicalize(body)!), key.seed);
  const entry = { party, key: Buffer.from(key.publicKey.bytes).toString('base64url'), sig: Buffer.from(sig).toString('base64url') };
  return { ...d, signatures: [...(signatures ?? []), entry] };
}

/** A key whose id can also be a kernel instance name (which must start with a letter or digit). */
function nameableKey(): PrivateKey {
  let k = generateKeyPair();
  while (!/^[A-Za-z0-9]/.test(k.kid)) k = generateKeyPair();
  return k;
}

describe('the providers an operator accepts (config.providers)', () => {
  it('registers a document whose provider is listed, and refuses one whose provider is not, with EPERM naming both', async () => {
    const kernel = await makeKernel();
    expect(await register(kernel, signed(doc()))).toMatchObject({ provider: providerKey.kid });
    const stranger = generateKeyPair();
    const e = await rejection(register(kernel, signed(doc({ id: 'agr-2', provider: stranger.kid }), consumerKey, stranger)));
    expect(e.code).toBe('EPERM');
    expect(e.message).toBe(
      `agreement agr-2: expected a provider this node accepts (config.providers of mcp0.agreements: [${providerKey.kid}]), got ${stranger.kid}`,
    );
    // Nothing was stored.
    expect((await rejection(kernel.callValue(NAME, 'get', { id: 'agr-2' }))).code).toBe('ENOTFOUND');
    await kernel.stop();
  });

  it('with no providers configured, refuses every document and says how to configure one', async () => {
    for (const config of [{}, { providers: [] }] as CborValue[]) {
      const kernel = await makeKernel(undefined, 'inline', true, 'inline', config);
      const e = await rejection(register(kernel, signed(doc())));
      expect(e.code).toBe('EPERM');
      expect(e.message).toContain(`agreement agr-1: the provider ${providerKey.kid} is not accepted: this node accepts no provider yet`);
      expect(e.message).toContain('config.providers of mcp0.agreements');
      expect(e.message).toContain('"config": {"providers": ["$assembler"]}');
      await kernel.stop();
    }
  });

  it.each([
    ['providers as text', { providers: providerKey.kid }, /^mcp0\.agreements config\.providers: expected a list of key ids, got text$/],
    ['a number in the list', { providers: [providerKey.kid, 7] }, /^mcp0\.agreements config\.providers\/1: expected a key id \(.*\), got uint$/],
    ['an agent id in the list', { providers: ['mcp0.node'] }, /^mcp0\.agreements config\.providers\/0: expected a key id \(.*\), got "mcp0\.node"$/],
    ['the placeholder left in', { providers: ['$assembler'] }, /got "\$assembler" \(a placeholder that only mcp0 dist build replaces\)$/],
    ['providers null', { providers: null }, /^mcp0\.agreements config\.providers: expected a list of key ids, got null$/],
    ['a misspelt member', { provider: [providerKey.kid] }, /^mcp0\.agreements config: expected only the member "providers", got "provider"$/],
    [
      '65 providers',
      { providers: Array.from({ length: 65 }, () => providerKey.kid) },
      /^mcp0\.agreements config\.providers: expected at most 64 key ids, got 65$/,
    ],
  ] as [string, CborValue, RegExp][])('refuses to load with %s (EINPUT), rather than accept any or none silently', async (_name, config, message) => {
    const e = await loadError(config);
    expect(e, 'the plugin loaded').not.toBeNull();
    expect(e!.code).toBe('EINPUT');
    expect(e!.message).toMatch(message);
  });

  it('denies operations under an agreement whose provider the operator no longer accepts, and refuses to bind to it', async () => {
    const kv = new MemoryStore().kv;
    const first = await makeKernel(kv);
    await agree(first, signed(doc()));
    expect((await op(first, T0)).ok).toBe(true);
    await first.stop();
    // The operator rotates its key: the same store, a config without the old provider.
    const next = generateKeyPair();
    const second = await makeKernel(kv, 'inline', true, 'inline', { providers: [next.kid] });
    const r = await op(second, T0 + 1);
    expect(r).toMatchObject({ ok: false, code: 'EDENIED' });
    expect((r as { reason: string }).reason).toBe(
      `provider-not-accepted: agreement agr-1 is with the provider ${providerKey.kid}, expected one this node accepts (config.providers of mcp0.agreements: [${next.kid}])`,
    );
    const e = await rejection(bind(second, 'agr-1', 'acme.other'));
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain(`got ${providerKey.kid}`);
    await second.stop();
  });
});

describe('parties are two different key ids, checked by the plugin itself', () => {
  it('refuses a document whose consumer is an agent id, though any key could sign for it and both signatures verify', async () => {
    const kernel = await makeKernel();
    const named = forceSign(forceSign(doc({ consumer: 'acme.notes' }), generateKeyPair(), 'consumer'), providerKey, 'provider');
    const e = await rejection(register(kernel, named));
    expect(e.code).toBe('EINPUT');
    expect(e.message).toBe(
      'invalid agreement: /consumer: expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters), got "acme.notes"',
    );
    await kernel.stop();
  });

  it('refuses one key signing as both consumer and provider: an enterprise plan at price 0', async () => {
    // The provider is one the node accepts, and it signs for both sides.
    const kernel = await makeKernel();
    const free = doc({ plan: 'enterprise', consumer: providerKey.kid, pricing: { currency: 'EUR', baseFee: 0, perCall: 0, perCostUnit: 0 } });
    const twice = forceSign(forceSign(free, providerKey, 'consumer'), providerKey, 'provider');
    const e = await rejection(register(kernel, twice));
    expect(e.code).toBe('EINPUT');
    expect(e.message).toBe(
      `invalid agreement: /provider: expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id ${providerKey.kid}`,
    );
    expect((await rejection(kernel.callValue(NAME, 'get', { id: 'agr-1' }))).code).toBe('ENOTFOUND');
    await kernel.stop();
  });
});

describe('bind checks the consumer', () => {
  it("refuses to bind an agent that acts for another key to an agreement (an agent signed by Bob on Alice's agreement)", async () => {
    const kernel = await makeKernel();
    await register(kernel, signed(doc()));
    const bob = generateKeyPair();
    const e = await rejection(bind(kernel, 'agr-1', HELLO, bob.kid));
    expect(e.code).toBe('EPERM');
    expect(e.message).toBe(
      `agreement agr-1: expected the agent ${HELLO} to act for the agreement's consumer ${consumerKey.kid}, got ${bob.kid} (the key the agent acts for: a node passes the key that signed its module)`,
    );
    // Nothing was bound, so nothing runs or is billed to the consumer.
    expect(await op(kernel, T0)).toMatchObject({ ok: false, code: 'EDENIED', reason: `no-agreement: no agreement is bound to ${HELLO}` });
    const usage = (await kernel.callValue(NAME, 'usage', { consumer: consumerKey.kid, window: T0 })) as { agreements: { calls: number; admitted: number }[] };
    expect(usage.agreements).toMatchObject([{ admitted: 0, calls: 0 }]);
    await kernel.stop();
  });

  it('refuses a consumer that is not a key id, a missing one, an unknown agreement and a revoked one, each with its code', async () => {
    const kernel = await makeKernel();
    await register(kernel, signed(doc()));
    const notKey = await rejection(bind(kernel, 'agr-1', HELLO, HELLO));
    expect(notKey.code).toBe('EINPUT');
    expect(notKey.message).toBe(`"consumer" expected a key id (the RFC 7638 thumbprint of an Ed25519 key, 43 base64url characters), got "${HELLO}"`);
    const missing = await rejection(kernel.callValue(NAME, 'bind', { agent: HELLO, agreement: 'agr-1' }));
    expect(missing.code).toBe('EINPUT');
    expect(missing.message).toContain('"consumer" is missing');
    expect((await rejection(bind(kernel, 'agr-9'))).code).toBe('ENOTFOUND');
    await kernel.callValue(NAME, 'revoke', { id: 'agr-1' });
    expect((await rejection(bind(kernel, 'agr-1'))).code).toBe('ESTATE');
    await kernel.stop();
  });

  it("gives a module named like the consumer's key id no agreement without a binding", async () => {
    const alice = nameableKey();
    const kernel = await makeKernel();
    const { hello } = await plugins();
    await kernel.load(hello, { name: alice.kid, isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    await register(kernel, signed(doc({ consumer: alice.kid }), alice));
    const r = await op(kernel, T0, 'echo', alice.kid);
    expect(r).toMatchObject({ ok: false, code: 'EDENIED', reason: `no-agreement: no agreement is bound to ${alice.kid}` });
    const usage = (await kernel.callValue(NAME, 'usage', { consumer: alice.kid, window: T0 })) as { agreements: { calls: number; admitted: number }[] };
    expect(usage.agreements).toMatchObject([{ admitted: 0, calls: 0 }]);
    await kernel.stop();
  });
});
