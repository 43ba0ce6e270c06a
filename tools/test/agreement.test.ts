/**
 * `mcp0 agreement`: new (templates, --set, --out, parties as key ids or key files), sign (party
 * from the key id, or --party), verify (good, tampered, single-signed; parties that are not two
 * keys; --trust for the provider), and usage/invoice read back through the plugin from a real LMDB
 * store that a kernel filled by running operations under the agreement.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import { beforeAll, describe, expect, it } from 'vitest';
import { ed25519Sign, generateKeyPair, newAgreement, signModule, type Agreement, type PrivateKey } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { openStore } from '@mcp0/sdk';
import { unsigned } from '../../test/fixtures.js';
import { run, tempDir, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

/** The standard distribution as `npm run build` leaves it (npm test builds it first). */
const STANDARD = fileURLToPath(new URL('../../distributions/standard/build', import.meta.url));
const consumer = generateKeyPair();
const provider = generateKeyPair();
const HOUR = 3_600_000;
const T0 = Date.parse('2027-01-01T00:00:00Z');

/** A signature made without the host library's checks, as a hostile signer can always make one. */
function forceSign(d: Agreement, key: PrivateKey, party: 'consumer' | 'provider'): Agreement {
  const { signatures, ...body } = d;
  const sig = ed25519Sign(new TextEncoder().encode(canonicalize(body)!), key.seed);
  return {
    ...d,
    signatures: [...(signatures ?? []), { party, key: Buffer.from(key.publicKey.bytes).toString('base64url'), sig: Buffer.from(sig).toString('base64url') }],
  };
}

describe('mcp0 agreement new / sign / verify', () => {
  it('makes an agreement from a template on stdout, with overrides', async () => {
    const r = await run(
      'agreement',
      'new',
      '--template',
      'business',
      '--consumer',
      consumer.kid,
      '--provider',
      provider.kid,
      '--id',
      'agr-7',
      '--set',
      'quotas.callsPerWindow=50',
      '--set',
      'validity.notAfter=2030-01-01',
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as Agreement;
    expect(doc).toMatchObject({
      type: 'mcp0.agreement/1',
      id: 'agr-7',
      plan: 'business',
      consumer: consumer.kid,
      provider: provider.kid,
      quotas: { callsPerWindow: 50 },
      validity: { notAfter: Date.parse('2030-01-01') },
    });
    expect(doc.signatures).toBeUndefined();
  });

  it('takes party key ids that start with "-" (one key in 64 has one)', async () => {
    let dash = generateKeyPair();
    while (!dash.kid.startsWith('-')) dash = generateKeyPair();
    const r = await run('agreement', 'new', '--template', 'free', '--consumer', dash.kid, '--provider', provider.kid);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ consumer: dash.kid, provider: provider.kid });
  });

  it('refuses an unknown template, a bad --set and a missing option with exit 2', async () => {
    const parties = ['--consumer', consumer.kid, '--provider', provider.kid];
    expect((await run('agreement', 'new', '--template', 'gold', ...parties)).err).toContain('expected one of business, enterprise, free, personal');
    const bad = await run('agreement', 'new', '--template', 'free', ...parties, '--set', 'quotas.windowMs=-5');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('/quotas/windowMs must be >= 1');
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', consumer.kid)).err).toContain('--provider is required');
    expect((await run('agreement', 'frobnicate')).code).toBe(2);
  });

  it('signs as each party in turn, verifies, and catches tampering and a missing signature', async () => {
    const dir = tempDir();
    const c = writeKeys(dir, consumer, 'consumer');
    const p = writeKeys(dir, provider, 'provider');
    const file = join(dir, 'agreement.json');
    // A party given as a key file: its id is used, and stderr says where it came from.
    const made = await run('agreement', 'new', '--template', 'personal', '--consumer', consumer.kid, '--provider', p.pub, '--out', file);
    expect(made.code, made.err).toBe(0);
    expect(made.err).toContain(`party: provider ${provider.kid} from --provider ${p.pub}`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ consumer: consumer.kid, provider: provider.kid });
    expect((await run('agreement', 'new', '--template', 'personal', '--consumer', consumer.kid, '--provider', provider.kid, '--out', file)).err).toContain(
      'refusing to overwrite',
    );

    let r = await run('agreement', 'sign', file, '--key', c.priv);
    expect(r.out).toContain(`as the consumer with ${consumer.kid}`);
    expect(r.out).toContain("still needs the provider's signature");
    r = await run('agreement', 'verify', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ESIGNATURE: agreement');
    expect(r.err).toContain("the provider's is missing");

    // A key that is neither party cannot sign, whatever --party says.
    const stranger = writeKeys(dir, generateKeyPair(), 'stranger');
    const refused = await run('agreement', 'sign', file, '--key', stranger.priv);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`--key: expected the consumer's or the provider's key, got ${stranger.kid}`);
    expect((await run('agreement', 'sign', file, '--key', stranger.priv, '--party', 'provider')).err).toContain(
      `ESIGNATURE: agreement provider is the key ${provider.kid}, but the signing key is ${stranger.kid}`,
    );
    r = await run('agreement', 'sign', file, '--key', p.priv);
    expect(r.out).toContain(`as the provider with ${provider.kid}`);
    expect(r.out).toContain('signed by both parties');
    r = await run('agreement', 'verify', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, consumerKey: consumer.kid, providerKey: provider.kid });

    const doc = JSON.parse(readFileSync(file, 'utf8')) as Agreement;
    writeFileSync(file, JSON.stringify({ ...doc, pricing: { ...doc.pricing, baseFee: 0 } }));
    r = await run('agreement', 'verify', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain("consumer's signature does not verify");
    writeFileSync(file, '{"type": 1}');
    expect((await run('agreement', 'verify', file)).err).toContain('EINPUT: invalid agreement');

    // "perCall" twice: JSON.parse keeps the signed value, a reader may see the other; refused.
    const twice = JSON.stringify(doc, null, 2).replace(/"perCall": (\d+)/, '"perCall": 0,\n    "perCall": $1');
    expect(twice).toMatch(/"perCall": 0,\n {4}"perCall": \d+/);
    writeFileSync(file, twice);
    r = await run('agreement', 'verify', file);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('EINPUT: invalid agreement: duplicate member "perCall" at /pricing/perCall');
  });
});

describe('mcp0 agreement usage / invoice', () => {
  // The consumer's key id goes last, after "--": one key id in 64 starts with "-".
  let uri: string;
  let plugin: string;
  let pub: string;

  beforeAll(async () => {
    const build = tempDir('mcp0-agreement-build-');
    const key = generateKeyPair();
    const agreements = signModule(await unsigned('agreements'), key);
    const hello = signModule(await unsigned('hello'), key);
    plugin = join(build, 'agreements.signed.wasm');
    writeFileSync(plugin, agreements);
    pub = writeKeys(build, key, 'publisher').pub;

    // An agreement made and signed with the CLI, registered into a node's store, and used.
    const dir = tempDir();
    const c = writeKeys(dir, consumer, 'consumer');
    const p = writeKeys(dir, provider, 'provider');
    const file = join(dir, 'a.json');
    await run(
      'agreement',
      'new',
      '--template',
      'business',
      '--consumer',
      consumer.kid,
      '--provider',
      provider.kid,
      '--id',
      'agr-cli',
      '--out',
      file,
      '--set',
      `validity.notBefore=${T0}`,
      '--set',
      `validity.notAfter=${T0 + 24 * HOUR}`,
      '--set',
      'pricing.baseFee=990',
      '--set',
      'pricing.perCall=4',
      '--set',
      'pricing.perCostUnit=2',
    );
    await run('agreement', 'sign', file, '--key', c.priv, '--party', 'consumer');
    await run('agreement', 'sign', file, '--key', p.priv);

    uri = `lmdb:${tempDir('mcp0-agreement-store-')}`;
    const store = await openStore(uri);
    const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
    // The node's operator accepts the provider; hello runs for the consumer, as a node would bind it.
    await kernel.load(agreements, { grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }], config: { providers: [provider.kid] } });
    await kernel.load(hello, { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    kernel.setPipeline({ admit: ['mcp0.agreements'], observe: ['mcp0.agreements'] });
    await kernel.callValue('mcp0.agreements', 'register', { document: JSON.parse(readFileSync(file, 'utf8')) });
    await kernel.callValue('mcp0.agreements', 'bind', { agent: 'mcp0.hello', agreement: 'agr-cli', consumer: consumer.kid });
    // Four operations in the first hour, refused by the paused agent before they run: each costs
    // exactly 1 (one that runs is billed what it used, which depends on the machine).
    kernel.module('mcp0.hello').pause();
    for (let i = 0; i < 4; i++)
      await kernel.execute({ agent: 'mcp0.hello', intent: 'greet', input: new Uint8Array([0xff]), time: T0 + 1000 + i }).catch(() => undefined);
    await kernel.stop();
    await store.close();
  });

  it("prints the usage of the window, read by the distribution's own signed plugin", async () => {
    const r = await run(
      'agreement',
      'usage',
      '--store',
      uri,
      '--dist',
      STANDARD,
      '--dev',
      '--window',
      new Date(T0 + 1000).toISOString(),
      '--json',
      '--',
      consumer.kid,
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('WARNING: --dev: trusting the DEVELOPMENT key');
    const u = JSON.parse(r.out);
    expect(u.agreements).toEqual([
      expect.objectContaining({
        id: 'agr-cli',
        admitted: 4,
        calls: 4,
        costUnits: 4,
        windowMs: 60_000,
        windowStart: T0,
        limits: expect.objectContaining({ callsPerWindow: 6000 }),
      }),
    ]);
    const text = await run('agreement', 'usage', '--store', uri, '--window', String(T0), '--plugin', plugin, '--trust', pub, '--', consumer.kid);
    expect(text.out).toContain('agr-cli: window from 2027-01-01T00:00:00.000Z (60000 ms): calls 4/6000, cost units 4/120000');
  });

  it('prints an invoice whose totals match the hand computation', async () => {
    const r = await run(
      'agreement',
      'invoice',
      '--period',
      '2027-01-01..2027-01-02',
      '--store',
      uri,
      '--plugin',
      plugin,
      '--trust',
      pub,
      '--json',
      '--',
      consumer.kid,
    );
    expect(r.code).toBe(0);
    // 990 + 4 calls × 4 + 4 units × 2 = 1014
    expect(JSON.parse(r.out).totals).toEqual([{ currency: 'EUR', amount: 1014 }]);
    const text = await run('agreement', 'invoice', '--period', `${T0}..${T0 + HOUR}`, '--store', uri, '--plugin', plugin, '--trust', pub, '--', consumer.kid);
    expect(text.out).toMatch(/agr-cli\s+calls\s+4 ×\s+4 =\s+16 EUR/);
    expect(text.out).toMatch(/total\s+10\.14 EUR \(1014 minor units\)/);
  });

  it('refuses a bad period, an unaligned one, a missing store and --plugin without --trust', async () => {
    expect((await run('agreement', 'invoice', '--period', '2027-01-01', '--store', uri, '--', consumer.kid)).err).toContain('expected <from>..<to>');
    const unaligned = await run(
      'agreement',
      'invoice',
      '--period',
      `${T0 + 1}..${T0 + HOUR}`,
      '--store',
      uri,
      '--plugin',
      plugin,
      '--trust',
      pub,
      '--',
      consumer.kid,
    );
    expect(unaligned.code).toBe(2);
    expect(unaligned.err).toContain('EUSAGE: --period: invoices cover whole UTC hours');
    const backwards = await run(
      'agreement',
      'invoice',
      '--period',
      '2027-01-02..2027-01-01',
      '--store',
      uri,
      '--plugin',
      plugin,
      '--trust',
      pub,
      '--',
      consumer.kid,
    );
    expect(backwards.code).toBe(2);
    expect(backwards.err).toContain('the start must come before the end');
    expect((await run('agreement', 'usage', '--store', 'lmdb:/nonexistent/mcp0', '--', consumer.kid)).err).toContain('ENOTFOUND: no store at');
    expect((await run('agreement', 'usage', '--store', uri, '--plugin', plugin, '--', consumer.kid)).err).toContain('--plugin needs --trust');
    expect((await run('agreement', 'usage', '--store', uri, '--plugin', plugin, '--trust', pub, '--dev', '--', consumer.kid)).err).toContain(
      '--plugin replaces the distribution',
    );
  });

  it('refuses a distribution it cannot trust, one without the agreements role, and a missing one', async () => {
    const untrusted = await run('agreement', 'usage', '--store', uri, '--dist', STANDARD, '--keyring', tempDir('mcp0-empty-keyring-'), '--', consumer.kid);
    expect(untrusted.code).toBe(2);
    expect(untrusted.err).toContain('is not in your keyring');
    const without = await run('agreement', 'usage', '--store', uri, '--dist', await nodeDist(), '--dev', '--', consumer.kid);
    expect(without.code).toBe(2);
    expect(without.err).toMatch(/no plugin provides mcp0\.agreements@1 \(it has mcp0\.storage, mcp0\.trace\): give --plugin/);
    const missing = await run(
      'agreement',
      'invoice',
      '--period',
      '2027-01-01..2027-01-02',
      '--store',
      uri,
      '--dist',
      join(tempDir(), 'none'),
      '--',
      consumer.kid,
    );
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no such directory');
  });
});

describe('parties are two keys, and verify --trust checks the provider (issue 12, defect 4)', () => {
  const doc = (over: Partial<Agreement> = {}): Agreement => ({
    ...newAgreement('enterprise', { consumer: consumer.kid, provider: provider.kid, id: 'agr-h', notBefore: T0 }),
    ...over,
  });

  it('new refuses a party that is an agent id, and one key as both parties', async () => {
    const named = await run('agreement', 'new', '--template', 'business', '--consumer', 'acme.notes', '--provider', provider.kid);
    expect(named.code).toBe(2);
    expect(named.err).toContain(
      `--consumer: expected the consumer's key id (43 base64url characters) or a key file path (containing "/" or ending in .jwk or .json), got "acme.notes"`,
    );
    const self = await run(
      'agreement',
      'new',
      '--template',
      'enterprise',
      '--consumer',
      consumer.kid,
      '--provider',
      consumer.kid,
      '--set',
      'pricing.baseFee=0',
    );
    expect(self.code).toBe(2);
    expect(self.err).toContain(
      `/provider: expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id ${consumer.kid}`,
    );
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', './none.jwk', '--provider', provider.kid)).err).toContain(
      '--consumer ./none.jwk: no such file',
    );
  });

  it('verify refuses a document whose consumer is acme.notes, though two keys signed it and both signatures verify', async () => {
    const file = join(tempDir(), 'named.json');
    writeFileSync(file, JSON.stringify(forceSign(forceSign(doc({ consumer: 'acme.notes' }), generateKeyPair(), 'consumer'), provider, 'provider')));
    const r = await run('agreement', 'verify', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('EINPUT: invalid agreement: /consumer: expected a key id');
    expect(r.err).toContain('got "acme.notes"');
  });

  it('verify refuses one key signing as both parties: an enterprise plan at price 0', async () => {
    const file = join(tempDir(), 'self.json');
    const free = doc({ provider: consumer.kid, pricing: { currency: 'EUR', baseFee: 0, perCall: 0, perCostUnit: 0 } });
    writeFileSync(file, JSON.stringify(forceSign(forceSign(free, consumer, 'consumer'), consumer, 'provider')));
    const r = await run('agreement', 'verify', file, '--json');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(
      `EINPUT: invalid agreement: /provider: expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id ${consumer.kid}`,
    );
  });

  it('verify --trust accepts a provider you trust, says where the trust came from, and refuses any other', async () => {
    const dir = tempDir();
    const c = writeKeys(dir, consumer, 'consumer');
    const p = writeKeys(dir, provider, 'provider');
    const other = writeKeys(dir, generateKeyPair(), 'other');
    const file = join(dir, 'a.json');
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', c.pub, '--provider', p.pub, '--id', 'agr-t', '--out', file)).code).toBe(0);
    await run('agreement', 'sign', file, '--key', c.priv);
    await run('agreement', 'sign', file, '--key', p.priv);

    const bare = await run('agreement', 'verify', file, '--json');
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.out)).toMatchObject({ ok: true, providerKey: provider.kid, providerTrusted: false });
    expect(bare.err).toContain('no --trust: the signatures verify, but whether the provider is a key you accept was not checked');

    const trusted = await run('agreement', 'verify', file, '--trust', p.pub, '--json');
    expect(trusted.code, trusted.err).toBe(0);
    expect(JSON.parse(trusted.out)).toMatchObject({ ok: true, providerTrusted: true });
    expect(trusted.err).toContain(`trust: provider ${provider.kid} from --trust ${p.pub}`);

    const untrusted = await run('agreement', 'verify', file, '--trust', other.pub);
    expect(untrusted.code).toBe(1);
    expect(untrusted.out).toBe('');
    expect(untrusted.err).toContain(`trust: provider ${other.kid} from --trust ${other.pub}`);
    expect(untrusted.err).toContain(`EUNTRUSTED: agreement agr-t: expected a provider you trust (${other.kid} (--trust ${other.pub})), got ${provider.kid}`);
    // The consumer's key is not the provider's, so trusting it does not help.
    expect((await run('agreement', 'verify', file, '--trust', c.pub)).code).toBe(1);
  });
});
