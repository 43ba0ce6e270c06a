/**
 * `mcp0 agreement`: new (templates, --set, --out), sign (party from the key id, or --party),
 * verify (good, tampered, single-signed), and usage/invoice read back through the plugin from a
 * real LMDB store that a kernel filled by running operations under the agreement.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signModule, type Agreement } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { openStore } from '@mcp0/sdk';
import { buildPlugin } from '@mcp0/tools';
import { run, tempDir, writeKeys } from './helpers.js';

const pluginDir = (name: string): string => fileURLToPath(new URL(`../../plugins/${name}`, import.meta.url));
const consumer = generateKeyPair();
const provider = generateKeyPair();
const HOUR = 3_600_000;
const T0 = Date.parse('2027-01-01T00:00:00Z');

describe('mcp0 agreement new / sign / verify', () => {
  it('makes an agreement from a template on stdout, with overrides', async () => {
    const r = await run('agreement', 'new', '--template', 'business', '--consumer', 'acme.notes', '--provider', 'mcp0.node', '--id', 'agr-7', '--set', 'quotas.callsPerWindow=50', '--set', 'validity.notAfter=2030-01-01');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as Agreement;
    expect(doc).toMatchObject({ type: 'mcp0.agreement/1', id: 'agr-7', plan: 'business', consumer: 'acme.notes', quotas: { callsPerWindow: 50 }, validity: { notAfter: Date.parse('2030-01-01') } });
    expect(doc.signatures).toBeUndefined();
  });

  it('takes party key ids that start with "-" (one key in 64 has one)', async () => {
    let dash = generateKeyPair();
    while (!dash.kid.startsWith('-')) dash = generateKeyPair();
    const r = await run('agreement', 'new', '--template', 'free', '--consumer', dash.kid, '--provider', dash.kid);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ consumer: dash.kid, provider: dash.kid });
  });

  it('refuses an unknown template, a bad --set and a missing option with exit 2', async () => {
    expect((await run('agreement', 'new', '--template', 'gold', '--consumer', 'a', '--provider', 'b')).err).toContain('expected one of business, enterprise, free, personal');
    const bad = await run('agreement', 'new', '--template', 'free', '--consumer', 'a', '--provider', 'b', '--set', 'quotas.windowMs=-5');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('/quotas/windowMs must be >= 1');
    expect((await run('agreement', 'new', '--template', 'free', '--consumer', 'a')).err).toContain('--provider is required');
    expect((await run('agreement', 'frobnicate')).code).toBe(2);
  });

  it('signs as each party in turn, verifies, and catches tampering and a missing signature', async () => {
    const dir = tempDir();
    const c = writeKeys(dir, consumer, 'consumer');
    const p = writeKeys(dir, provider, 'provider');
    const file = join(dir, 'agreement.json');
    expect((await run('agreement', 'new', '--template', 'personal', '--consumer', consumer.kid, '--provider', 'mcp0.node', '--out', file)).code).toBe(0);
    expect((await run('agreement', 'new', '--template', 'personal', '--consumer', 'x', '--provider', 'y', '--out', file)).err).toContain('refusing to overwrite');

    let r = await run('agreement', 'sign', file, '--key', c.priv);
    expect(r.out).toContain(`as the consumer with ${consumer.kid}`);
    expect(r.out).toContain("still needs the provider's signature");
    r = await run('agreement', 'verify', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain("ESIGNATURE: agreement");
    expect(r.err).toContain("the provider's is missing");

    // The provider id is not a key id, so the party must be named.
    expect((await run('agreement', 'sign', file, '--key', p.priv)).err).toContain('--party is needed');
    r = await run('agreement', 'sign', file, '--key', p.priv, '--party', 'provider');
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
  let uri: string;
  let plugin: string;
  let pub: string;

  beforeAll(async () => {
    const build = tempDir('mcp0-agreement-build-');
    const key = generateKeyPair();
    const agreements = signModule((await buildPlugin(pluginDir('agreements'), { out: join(build, 'agreements.wasm') })).wasm, key);
    const hello = signModule((await buildPlugin(pluginDir('hello'), { out: join(build, 'hello.wasm') })).wasm, key);
    plugin = join(build, 'agreements.signed.wasm');
    writeFileSync(plugin, agreements);
    pub = writeKeys(build, key, 'publisher').pub;

    // An agreement made and signed with the CLI, registered into a node's store, and used.
    const dir = tempDir();
    const c = writeKeys(dir, consumer, 'consumer');
    const p = writeKeys(dir, provider, 'provider');
    const file = join(dir, 'a.json');
    await run('agreement', 'new', '--template', 'business', '--consumer', 'mcp0.hello', '--provider', provider.kid, '--id', 'agr-cli', '--out', file,
      '--set', `validity.notBefore=${T0}`, '--set', `validity.notAfter=${T0 + 24 * HOUR}`, '--set', 'pricing.baseFee=990', '--set', 'pricing.perCall=4', '--set', 'pricing.perCostUnit=2');
    await run('agreement', 'sign', file, '--key', c.priv, '--party', 'consumer');
    await run('agreement', 'sign', file, '--key', p.priv);

    uri = `lmdb:${tempDir('mcp0-agreement-store-')}`;
    const store = await openStore(uri);
    const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
    await kernel.load(agreements, { grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }] });
    await kernel.load(hello, { isolation: 'inline', grants: [{ name: 'kv' }, { name: 'clock' }, { name: 'random' }] });
    kernel.setPipeline({ admit: ['mcp0.agreements'], observe: ['mcp0.agreements'] });
    await kernel.callValue('mcp0.agreements', 'register', { document: JSON.parse(readFileSync(file, 'utf8')) });
    // Four operations in the first hour, refused by the paused agent before they run: each costs
    // exactly 1 (one that runs is billed what it used, which depends on the machine).
    kernel.module('mcp0.hello').pause();
    for (let i = 0; i < 4; i++) await kernel.execute({ agent: 'mcp0.hello', intent: 'greet', input: new Uint8Array([0xff]), time: T0 + 1000 + i }).catch(() => undefined);
    await kernel.stop();
    await store.close();
  });

  it('prints the usage of the window, from the plugin built from source', async () => {
    const r = await run('agreement', 'usage', 'mcp0.hello', '--store', uri, '--window', new Date(T0 + 1000).toISOString(), '--json');
    expect(r.err).toBe('');
    const u = JSON.parse(r.out);
    expect(u.agreements).toEqual([expect.objectContaining({ id: 'agr-cli', admitted: 4, calls: 4, costUnits: 4, windowMs: 60_000, windowStart: T0, limits: expect.objectContaining({ callsPerWindow: 6000 }) })]);
    const text = await run('agreement', 'usage', 'mcp0.hello', '--store', uri, '--window', String(T0), '--plugin', plugin, '--trust', pub);
    expect(text.out).toContain('agr-cli: window from 2027-01-01T00:00:00.000Z (60000 ms): calls 4/6000, cost units 4/120000');
  });

  it('prints an invoice whose totals match the hand computation', async () => {
    const r = await run('agreement', 'invoice', 'mcp0.hello', '--period', '2027-01-01..2027-01-02', '--store', uri, '--plugin', plugin, '--trust', pub, '--json');
    expect(r.code).toBe(0);
    // 990 + 4 calls × 4 + 4 units × 2 = 1014
    expect(JSON.parse(r.out).totals).toEqual([{ currency: 'EUR', amount: 1014 }]);
    const text = await run('agreement', 'invoice', 'mcp0.hello', '--period', `${T0}..${T0 + HOUR}`, '--store', uri, '--plugin', plugin, '--trust', pub);
    expect(text.out).toMatch(/agr-cli\s+calls\s+4 ×\s+4 =\s+16 EUR/);
    expect(text.out).toMatch(/total\s+1014 EUR/);
  });

  it('refuses a bad period, an unaligned one, a missing store and --plugin without --trust', async () => {
    expect((await run('agreement', 'invoice', 'mcp0.hello', '--period', '2027-01-01', '--store', uri)).err).toContain('expected <from>..<to>');
    const unaligned = await run('agreement', 'invoice', 'mcp0.hello', '--period', `${T0 + 1}..${T0 + HOUR}`, '--store', uri, '--plugin', plugin, '--trust', pub);
    expect(unaligned.code).toBe(1);
    expect(unaligned.err).toContain('whole UTC hours');
    expect((await run('agreement', 'usage', 'mcp0.hello', '--store', 'lmdb:/nonexistent/mcp0')).err).toContain('ENOTFOUND: no store at');
    expect((await run('agreement', 'usage', 'mcp0.hello', '--store', uri, '--plugin', plugin)).err).toContain('--plugin needs --trust');
  });
});
