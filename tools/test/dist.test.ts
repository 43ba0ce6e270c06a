/**
 * `mcp0 dist`: a distribution assembled from signed fixtures through the CLI (new, add, pipeline,
 * lock, verify), the CLI naming each kind of tampering, trust from --trust or the keyring, usage
 * errors, `dist build` from a spec (hello + trace + storage, reproducible) and the committed
 * distributions/standard spec built and loaded into a kernel.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, parseJwk, publicKeyOf, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore, loadDistribution, type DistributionDocument } from '@mcp0/sdk';
import { publisher, signed, unsigned } from '../../test/fixtures.js';
import { KEYRING, run, tempDir, writeKeys } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STACK = /\n\s+at /;

/** Keys: the publisher of the fixtures (test/fixtures' key) and an assembler made by keygen. */
let pub: ReturnType<typeof writeKeys>;
let asm: { priv: string; pub: string; kid: string };
let hello: string;
let gate: string;
/** A locked distribution; tests copy it before changing it. */
let locked: string;

const copy = () => {
  const d = join(tempDir(), 'd');
  cpSync(locked, d, { recursive: true });
  return d;
};
const docOf = (dir: string): DistributionDocument => JSON.parse(readFileSync(join(dir, 'distribution.json'), 'utf8'));

beforeAll(async () => {
  const keys = tempDir();
  pub = writeKeys(keys, publisher, 'publisher');
  const made = await run('keygen', '--out', join(keys, 'assembler.jwk'));
  expect(made.code, made.err).toBe(0);
  const kid = /key id:\s+(\S+)/.exec(made.out)![1]!;
  asm = { priv: join(keys, 'assembler.jwk'), pub: join(keys, 'assembler.pub.jwk'), kid };
  hello = join(keys, 'hello.wasm');
  gate = join(keys, 'gate.wasm');
  writeFileSync(hello, await signed('hello'));
  writeFileSync(gate, await signed('gate'));

  locked = join(tempDir(), 'dist');
  const steps = [
    ['dist', 'new', locked, '--name', 'test.cli', '--key', asm.pub],
    ['dist', 'add', locked, hello, '--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random', '--publisher', pub.pub],
    ['dist', 'add', locked, gate, '--grant', 'kv:gate/', '--isolation', 'worker', '--config', '{"limit":3}'],
    ['dist', 'pipeline', locked, '--admit', 'test.gate', '--observe', 'test.gate'],
    ['dist', 'lock', locked, '--key', asm.priv],
  ];
  for (const argv of steps) {
    const r = await run(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
  }
});

describe('mcp0 dist: assemble, lock, verify', () => {
  it('--help lists every subcommand and the exit codes', async () => {
    const r = await run('dist', '--help');
    expect(r.code).toBe(0);
    for (const sub of ['new', 'add', 'remove', 'grant', 'pipeline', 'lock', 'verify', 'build']) expect(r.out).toContain(`mcp0 dist ${sub} `);
    expect(r.out).toMatch(/Exit codes/);
    expect((await run('--help')).out).toMatch(/\n\s+dist\s/);
  });

  it('the assembled distribution verifies with --trust, and with the assembler found in the keyring', async () => {
    const r = await run('dist', 'verify', locked, '--trust', asm.pub);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`ok: distribution test.cli@0.1.0 is signed by trusted assembler ${asm.kid}`);
    expect(r.out).toMatch(/mcp0\.hello@0\.1\.0\s+inline .* grants kv:hello\/, clock, random/);
    expect(r.out).toMatch(/test\.gate@0\.1\.0\s+worker/);
    expect(r.out).toContain('admit [test.gate] → execute → observe [test.gate]');
    // keygen put the assembler's public key into the keyring, so no --trust is needed.
    expect(existsSync(join(KEYRING, `${asm.kid}.jwk`))).toBe(true);
    expect((await run('dist', 'verify', locked)).code).toBe(0);

    const json = await run('dist', 'verify', locked, '--json');
    const verdict = JSON.parse(json.out);
    expect(verdict).toMatchObject({ ok: true, name: 'test.cli', assembler: asm.kid, problems: [] });
    expect(verdict.plugins.map((p: { name: string; signers: string[] }) => [p.name, p.signers])).toEqual([
      ['mcp0.hello', [pub.kid]],
      ['test.gate', [pub.kid]],
    ]);
  });

  it('the SDK loads what the CLI assembled', async () => {
    const dist = await loadDistribution(locked, { trust: [publicKeyOf(parseJwk(readFileSync(asm.pub, 'utf8')))] });
    expect(dist.plugins.map((p) => [p.name, p.isolation, p.config])).toEqual([
      ['mcp0.hello', 'inline', {}],
      ['test.gate', 'worker', { limit: 3 }],
    ]);
  });

  it('verify before lock says it is not signed', async () => {
    const d = join(tempDir(), 'fresh');
    expect((await run('dist', 'new', d, '--name', 'fresh', '--key', asm.pub)).code).toBe(0);
    const r = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not signed: distribution.json has no signature (run mcp0 dist lock)');
  });
});

describe('mcp0 dist verify names what changed', () => {
  it('a grant widened with dist grant, until the next lock', async () => {
    const d = copy();
    const g = await run('dist', 'grant', d, 'test.gate', '--grant', 'kv', '--grant', 'net:*');
    expect(g.code, g.err).toBe(0);
    expect(g.out).toBe('test.gate: grants kv, net:*\n');
    const r = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[changed] ESIGNATURE: changed since signed: grant widened on test.gate: kv:gate/ → kv, net:*');
    expect(r.err).not.toMatch(STACK);
    expect((await run('dist', 'lock', d, '--key', asm.priv)).code).toBe(0);
    expect((await run('dist', 'verify', d, '--trust', asm.pub)).code).toBe(0);
  });

  it('a plugin removed with dist remove, and a pipeline edited by hand', async () => {
    const d = copy();
    const rm = await run('dist', 'remove', d, 'test.gate');
    expect(rm.out).toBe('removed test.gate (and from the admit and observe pipeline)\n');
    const r = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(r.code).toBe(1);
    expect(r.err).toContain('changed since signed: plugin removed: test.gate');

    const d2 = copy();
    const doc = docOf(d2);
    doc.pipeline.observe = [];
    writeFileSync(join(d2, 'distribution.json'), JSON.stringify(doc));
    const r2 = await run('dist', 'verify', d2, '--trust', asm.pub, '--json');
    expect(r2.code).toBe(1);
    expect(JSON.parse(r2.out).problems).toEqual([
      { code: 'ESIGNATURE', check: 'changed', message: 'changed since signed: pipeline changed: observe [test.gate] → []' },
    ]);
  });

  it('a swapped plugin file and a wrong assembler key', async () => {
    const d = copy();
    const other = signModule(await unsigned('hello'), generateKeyPair());
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), other);
    const r = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[sha256\] ESIGNATURE: plugin mcp0\.hello: sha256 mismatch \(locked [0-9a-f]{12}…, file [0-9a-f]{12}…\)/);
    expect(r.err).toMatch(/\[publisher\] EUNTRUSTED: plugin mcp0\.hello: signed by no trusted publisher/);

    // Bytes that are not WebAssembly: one problem, though two checks find it.
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), 'not wasm');
    const text = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(text.code).toBe(1);
    expect(text.err.match(/\[wasm\] ENOTWASM: plugin mcp0\.hello: not a WebAssembly module/g)).toHaveLength(1);

    const stranger = writeKeys(tempDir(), generateKeyPair(), 'stranger');
    const w = await run('dist', 'verify', locked, '--trust', stranger.pub);
    expect(w.code).toBe(1);
    expect(w.err).toContain(`[trust] EUNTRUSTED: signed by assembler ${asm.kid}, which is not trusted: expected one of ${stranger.kid}`);
  });

  it('a member named twice in distribution.json (exit 1), naming it, though the last value is the signed one', async () => {
    const d = copy();
    const file = join(d, 'distribution.json');
    const text = readFileSync(file, 'utf8');
    const index = docOf(d).plugins.findIndex((p) => p.name === 'test.gate');
    writeFileSync(file, text.replace('"limit": 3', '"limit": 1000,\n        "limit": 3'));
    const r = await run('dist', 'verify', d, '--trust', asm.pub);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`[schema] EINPUT: distribution.json: duplicate member "limit" at /plugins/${index}/config/limit`);
    expect(r.err).not.toMatch(STACK);
  });

  it('verify of a directory without a distribution fails (exit 1), naming it', async () => {
    const r = await run('dist', 'verify', join(tempDir(), 'empty'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[schema\] ENOTFOUND: no distribution in .*empty: cannot read distribution\.json \(ENOENT\)/);
  });
});

describe('mcp0 dist refuses, exit 2, writing nothing', () => {
  it('a plugin whose signer is not a publisher, and a plugin without its required grants', async () => {
    const d = copy();
    const before = readFileSync(join(d, 'distribution.json'));
    const foreign = join(tempDir(), 'foreign.wasm');
    const stranger = generateKeyPair();
    writeFileSync(foreign, signModule(await unsigned('hello'), stranger));
    const r = await run('dist', 'add', d, foreign, '--grant', 'kv:hello/', '--grant', 'clock', '--grant', 'random');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/adding mcp0\.hello refused: plugin mcp0\.hello: signed by no trusted publisher/);
    const r2 = await run('dist', 'add', d, hello, '--grant', 'clock');
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/ECAPABILITY: .*requested capabilities not granted: kv, random/);
    expect(readFileSync(join(d, 'distribution.json')).equals(before)).toBe(true);
  });

  it('lock with the wrong key or a public key', async () => {
    const d = copy();
    const other = writeKeys(tempDir(), generateKeyPair(), 'other');
    const r = await run('dist', 'lock', d, '--key', other.priv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`expected the assembler key ${asm.kid}`);
    expect((await run('dist', 'lock', d, '--key', asm.pub)).err).toMatch(/private key/);
  });

  it.each([
    [['dist'], /expected a subcommand/],
    [['dist', 'frobnicate', 'x'], /expected a subcommand .* got "frobnicate"/],
    [['dist', 'remove', 'x', 'y', '--grant', 'kv'], /mcp0 dist remove does not take --grant/],
    [['dist', 'add', 'x'], /expected 2 argument/],
    [['dist', 'new', 'x', '--key', 'nope.jwk'], /--name is required/],
    [['dist', 'add', 'x', 'y.wasm', '--isolation', 'thread'], /--isolation: expected inline or worker, got "thread"/],
    [['dist', 'add', 'x', 'y.wasm', '--config', '[1]'], /--config: expected a JSON object, got \[1\]/],
    [['dist', 'grant', 'x', 'mcp0.hello'], /nothing to change/],
    [['dist', 'pipeline', 'x'], /nothing to change/],
  ])('usage: mcp0 %j', async (argv, pattern) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
    expect(r.err).not.toMatch(STACK);
  });

  it('verify without --trust when the assembler is in no keyring', async () => {
    const d = join(tempDir(), 'x');
    const lone = writeKeys(tempDir(), generateKeyPair(), 'lone');
    expect((await run('dist', 'new', d, '--name', 'x', '--key', lone.pub)).code).toBe(0);
    const r = await run('dist', 'verify', d);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`the assembler ${lone.kid} is not in your keyring: pass --trust`);
  });
});

const plugin = (name: string) => join(ROOT, 'plugins', name);

describe('mcp0 dist build', () => {
  it('builds hello + trace + storage from a spec, reproducibly, with a development key it reuses', async () => {
    const spec = tempDir();
    writeFileSync(
      join(spec, 'dist.json'),
      JSON.stringify({
        name: 'test.built',
        version: '1.2.3',
        plugins: [
          { source: plugin('hello'), grants: ['kv:hello/', 'clock', 'random'] },
          { source: plugin('trace'), grants: ['kv:trace/'], isolation: 'inline' },
          { source: plugin('storage'), grants: ['blocks', 'random'], isolation: 'worker', config: { fanout: 32 } },
        ],
        pipeline: { observe: ['mcp0.trace'] },
        budgets: { cpuPercent: 10, rssPeakMB: 200, rssAvgMB: 100 },
      }),
    );
    const first = await run('dist', 'build', spec);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/made the DEVELOPMENT key .*dev-key\.jwk/);
    const out = join(spec, 'build');
    const dev = JSON.parse(readFileSync(join(out, 'dev-key.jwk'), 'utf8'));
    expect(dev['mcp0:note']).toMatch(/^DEVELOPMENT KEY/);
    const v = await run('dist', 'verify', out, '--trust', join(out, 'dev-key.pub.jwk'));
    expect(v.code, v.err).toBe(0);
    const doc = docOf(out);
    expect(doc.plugins.map((p) => [p.name, p.isolation])).toEqual([
      ['mcp0.hello', 'inline'],
      ['mcp0.trace', 'inline'],
      ['mcp0.storage', 'worker'],
    ]);
    expect(doc.pipeline).toEqual({ admit: [], observe: ['mcp0.trace'] });
    expect(doc.budgets).toEqual({ cpuPercent: 10, rssPeakMB: 200, rssAvgMB: 100 });
    expect(doc.publishers.map((k) => k.kid)).toEqual([doc.assembler.kid]);

    const again = await run('dist', 'build', spec, '--quiet');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toBe('');
    expect(docOf(out)).toEqual(doc);
    // Nothing changed: every plugin's cached build is reused, and the distribution is the same.
    const cached = await run('dist', 'build', spec);
    expect(cached.out.match(/^up to date mcp0\.\w+@/gm)).toHaveLength(3);
    expect(docOf(out)).toEqual(doc);
    expect((await run('dist', 'verify', out, '--trust', join(out, 'dev-key.pub.jwk'))).code).toBe(0);
    expect((await run('dist', 'build', spec, '--force')).out.match(/^built mcp0\.\w+@/gm)).toHaveLength(3);
    expect(docOf(out)).toEqual(doc);
  });

  it('signs with --key and --publisher-key instead of a development key, and puts the assembler\'s id for "$assembler" in config', async () => {
    const spec = tempDir();
    const config = { providers: ['$assembler'], nested: { keys: [['$assembler', 'x']], note: 'a $assembler in text stays', other: '$publisher', n: 1 } };
    writeFileSync(
      join(spec, 'dist.json'),
      JSON.stringify({ name: 'test.keyed', version: '0.1.0', plugins: [{ source: plugin('hello'), grants: ['kv', 'clock', 'random'], config }], pipeline: {} }),
    );
    const out = join(tempDir(), 'out');
    const r = await run('dist', 'build', spec, '--out', out, '--key', asm.priv, '--publisher-key', pub.priv);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(out, 'dev-key.jwk'))).toBe(false);
    const doc = docOf(out);
    expect([doc.assembler.kid, doc.publishers.map((k) => k.kid)]).toEqual([asm.kid, [pub.kid]]);
    // Exactly "$assembler", at any depth, becomes the assembler key's id (not the publisher's); nothing else changes.
    expect(doc.plugins[0]!.config).toEqual({
      providers: [asm.kid],
      nested: { keys: [[asm.kid, 'x']], note: 'a $assembler in text stays', other: '$publisher', n: 1 },
    });
    expect((await run('dist', 'verify', out, '--trust', asm.pub)).code).toBe(0);
  });

  it.each([
    [{ name: 'x', version: '0.1.0', plugins: [], pipeline: {} }, /plugins: expected a non-empty array/],
    [{ name: 'x', version: '0.1.0', plugins: [{ source: 'nowhere', grants: [] }], pipeline: {} }, /plugin source .*nowhere has no plugin\.json/],
    [{ name: 'x', version: '0.1.0', plugins: [{ source: '.', grant: [] }], pipeline: {} }, /plugins\[0\]: unknown field grant/],
    [{ name: 'x', version: '0.1.0', plugins: [{ source: '.', grants: 'kv' }], pipeline: {} }, /plugins\[0\]\.grants: expected an array/],
  ])('refuses a bad spec, naming the field (%#)', async (spec, pattern) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'dist.json'), JSON.stringify(spec));
    const r = await run('dist', 'build', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
  });

  it('refuses a spec that names a member twice (JSON.parse would keep the last)', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'dist.json'),
      '{"name": "x", "version": "0.1.0", "plugins": [{"source": ".", "grants": ["kv"], "grants": ["kv", "net:*"]}], "pipeline": {}}',
    );
    const r = await run('dist', 'build', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('duplicate member "grants" at /plugins/0/grants');
  });
});

const AGREEMENTS = existsSync(join(ROOT, 'plugins/agreements/plugin.json'));

describe('distributions/standard', () => {
  it.skipIf(!AGREEMENTS)(
    'builds from the committed spec and every plugin loads into a kernel with its grants (skipped while plugins/agreements is missing)',
    async () => {
      const out = join(tempDir(), 'standard');
      const r = await run('dist', 'build', join(ROOT, 'distributions/standard'), '--out', out);
      expect(r.code, r.err).toBe(0);
      const devPub = publicKeyOf(parseJwk(readFileSync(join(out, 'dev-key.pub.jwk'), 'utf8')));
      const dist = await loadDistribution(out, { trust: [devPub] });
      expect(dist.name).toBe('standard');
      expect(dist.plugins.map((p) => p.name)).toEqual(['mcp0.agreements', 'mcp0.trace', 'mcp0.storage', 'mcp0.rpc']);
      expect(dist.pipeline.admit).toEqual(['mcp0.agreements']);
      expect(dist.pipeline.observe).toContain('mcp0.trace');
      expect(dist.budgets).toEqual({ cpuPercent: 27, rssPeakMB: 827, rssAvgMB: 640 });
      // The agreements plugin accepts the assembler (here the development key) as provider.
      expect(dist.plugins[0]!.config).toEqual({ providers: [devPub.kid] });
      // The rpc plugin admits calls to the node's own methods from the assembler only.
      expect(dist.plugins[3]!.config).toEqual({ operators: [devPub.kid] });

      const store = new MemoryStore();
      const kernel = new Kernel({ trust: dist.publishers, providers: { kv: store.kv, blocks: store.blocks } });
      try {
        for (const p of dist.plugins) await kernel.load(p.bytes, { grants: p.grants, isolation: p.isolation, config: p.config });
        expect(await kernel.callValue('mcp0.trace', 'head', {})).toMatchObject({ head: '0' });
        const e = await kernel
          .callValue('mcp0.rpc', 'verify', { envelope: new Uint8Array(0), payload: new Uint8Array(0), consumer: null })
          .catch((x: unknown) => x);
        expect(e).toMatchObject({ code: 'EINPUT' });
      } finally {
        await kernel.stop();
      }
    },
  );
});
