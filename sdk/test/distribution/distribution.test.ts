// Distributions end to end on real signed artifacts (the hello and gate fixtures): create, add,
// pipeline, lock, verify and load; then every kind of tampering, each of which must fail verify
// with a typed error naming what changed; hostile documents and paths; edits that must be refused.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, LoadError, Mcp0Error, signModule, toJwk, type PrivateKey } from '@mcp0/abi';
import { publisher, signed, unsigned } from '../../../test/fixtures.js';
import {
  addPlugin,
  changeGrants,
  checkDistribution,
  createDistribution,
  DEFAULT_BUDGETS,
  DISTRIBUTION_FILE,
  loadDistribution,
  lockDistribution,
  MAX_DOCUMENT_BYTES,
  readDistribution,
  removePlugin,
  setPipeline,
  sha256Hex,
  signDistribution,
  verifyDistribution,
  writeDistribution,
  type DistributionDocument,
} from '../../src/distribution/index.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mcp0-dist-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const assembler: PrivateKey = generateKeyPair();
const trust = [assembler.publicKey];
let hello: Uint8Array;
let gate: Uint8Array;
/** A locked, valid distribution of hello and gate; tests copy it before changing anything. */
let locked: string;

const copy = () => {
  const d = tempDir();
  cpSync(locked, d, { recursive: true });
  return d;
};
const editJson = (dir: string, edit: (doc: DistributionDocument) => void) => {
  const path = join(dir, DISTRIBUTION_FILE);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as DistributionDocument;
  edit(doc);
  writeFileSync(path, JSON.stringify(doc, null, 2));
};
const messages = async (dir: string, options = { trust }) => (await checkDistribution(dir, options)).problems.map((p) => p.message);

async function rejection(p: Promise<unknown>): Promise<Mcp0Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Mcp0Error) return e;
    throw e;
  }
  throw new Error('expected a rejection, got a result');
}

beforeAll(async () => {
  hello = await signed('hello');
  gate = await signed('gate');
  locked = tempDir();
  await createDistribution(locked, { name: 'test.dist', assembler: assembler.publicKey });
  await addPlugin(locked, hello, { grants: ['kv:hello/', 'clock', 'random'], publishers: [publisher.publicKey] });
  await addPlugin(locked, gate, { grants: ['kv:gate/'], isolation: 'worker', config: { limit: 3 } });
  await setPipeline(locked, { admit: ['test.gate'], observe: ['test.gate'] });
  await lockDistribution(locked, assembler);
});

describe('a distribution assembled, locked and loaded', () => {
  it('verifies, and loads the artifacts, grants, config, pipeline and default budgets in order', async () => {
    const report = await verifyDistribution(locked, { trust });
    expect(report.assembler).toBe(assembler.kid);
    expect(report.plugins.map((p) => p.signers)).toEqual([[publisher.kid], [publisher.kid]]);

    const dist = await loadDistribution(locked, { trust });
    expect(dist.name).toBe('test.dist');
    expect(dist.version).toBe('0.1.0');
    expect(dist.publishers.map((k) => k.kid)).toEqual([publisher.kid]);
    expect(dist.plugins.map((p) => [p.name, p.version, p.isolation])).toEqual([
      ['mcp0.hello', '0.1.0', 'inline'],
      ['test.gate', '0.1.0', 'worker'],
    ]);
    expect(Buffer.from(dist.plugins[0]!.bytes).equals(Buffer.from(hello))).toBe(true);
    expect(Buffer.from(dist.plugins[1]!.bytes).equals(Buffer.from(gate))).toBe(true);
    expect(dist.plugins[0]!.grants).toEqual([{ name: 'kv', scope: { prefix: 'hello/' } }, { name: 'clock' }, { name: 'random' }]);
    expect(dist.plugins[1]!.config).toEqual({ limit: 3 });
    expect(dist.pipeline).toEqual({ admit: ['test.gate'], observe: ['test.gate'] });
    expect(dist.budgets).toEqual(DEFAULT_BUDGETS);
  });

  it("pins each file's sha256 and signs the canonical document", async () => {
    const doc = await readDistribution(locked);
    expect(doc.plugins.map((p) => p.sha256)).toEqual([sha256Hex(hello), sha256Hex(gate)]);
    expect(doc.signature?.kid).toBe(assembler.kid);
    expect(JSON.parse(doc.signature!.signed).signature).toBeUndefined();
    expect(doc.plugins.map((p) => p.file)).toEqual(['plugins/mcp0.hello.wasm', 'plugins/test.gate.wasm']);
  });

  it('accepts the embedded assembler key only when asked to, and needs some trust', async () => {
    await expect(verifyDistribution(locked, { trustEmbeddedDevKey: true })).resolves.toMatchObject({ ok: true });
    const e = await rejection(checkDistribution(locked, {}));
    expect(e.code).toBe('EUSAGE');
  });

  it('re-locking an unchanged distribution gives the same bytes (Ed25519 is deterministic)', async () => {
    const d = copy();
    const before = readFileSync(join(d, DISTRIBUTION_FILE));
    await lockDistribution(d, assembler);
    expect(readFileSync(join(d, DISTRIBUTION_FILE)).equals(before)).toBe(true);
  });
});

describe('tampering makes verify fail and name what changed', () => {
  it('a swapped plugin file', async () => {
    const d = copy();
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), gate);
    const e = await rejection(loadDistribution(d, { trust }));
    expect(e).toBeInstanceOf(LoadError);
    expect(e.code).toBe('ESIGNATURE');
    expect(e.message).toContain(`plugin mcp0.hello: sha256 mismatch (locked ${sha256Hex(hello).slice(0, 12)}…, file ${sha256Hex(gate).slice(0, 12)}…)`);
    expect(e.message).toContain("the file's manifest says test.gate@0.1.0");
  });

  it('a swapped file whose new hash was written into the document', async () => {
    const d = copy();
    const other = signModule(signModule(await unsigned('hello'), publisher), generateKeyPair());
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), other);
    editJson(d, (doc) => {
      doc.plugins[0]!.sha256 = sha256Hex(other);
    });
    const problems = await messages(d);
    expect(problems).toContain(`changed since signed: plugin swapped: mcp0.hello sha256 ${sha256Hex(hello).slice(0, 12)}… → ${sha256Hex(other).slice(0, 12)}…`);
  });

  it('a widened grant', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins[1]!.grants.push('net:*');
    });
    const e = await rejection(verifyDistribution(d, { trust }));
    expect(e.code).toBe('ESIGNATURE');
    expect(e.details.check).toBe('changed');
    expect(e.message).toContain('changed since signed: grant widened on test.gate: kv:gate/ → kv:gate/, net:*');
  });

  it('a scope widened in place (kv:hello/ → kv)', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins[0]!.grants[0] = 'kv';
    });
    expect(await messages(d)).toContain('changed since signed: grant widened on mcp0.hello: kv:hello/, clock, random → kv, clock, random');
  });

  it('a removed plugin entry', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins = doc.plugins.filter((p) => p.name !== 'test.gate');
    });
    const problems = await messages(d);
    expect(problems).toContain('changed since signed: plugin removed: test.gate');
    expect(problems.some((m) => /pipeline admit names test\.gate, which is not a plugin/.test(m))).toBe(true);
  });

  it('an edited pipeline', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.pipeline.admit = [];
    });
    expect(await messages(d)).toEqual(['changed since signed: pipeline changed: admit [test.gate] → []']);
  });

  it('a plugin file edited after lock', async () => {
    const d = copy();
    const bytes = new Uint8Array(hello);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), bytes);
    const report = await checkDistribution(d, { trust });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.check, p.plugin])).toContainEqual(['sha256', 'mcp0.hello']);
    // The edit also breaks the publisher's signature over the module.
    expect(report.problems.find((p) => p.check === 'signature' && p.plugin === 'mcp0.hello')?.code).toBe('ESIGNATURE');
  });

  it('a deleted plugin file', async () => {
    const d = copy();
    rmSync(join(d, 'plugins/test.gate.wasm'));
    const report = await checkDistribution(d, { trust });
    expect(report.problems[0]).toMatchObject({ code: 'ENOTFOUND', check: 'file', plugin: 'test.gate' });
    expect(report.problems[0]!.message).toMatch(/plugin test\.gate: file plugins\/test\.gate\.wasm is missing/);
  });

  it('a wrong assembler key', async () => {
    const stranger = generateKeyPair();
    const e = await rejection(verifyDistribution(locked, { trust: [stranger.publicKey] }));
    expect(e.code).toBe('EUNTRUSTED');
    expect(e.message).toContain(`signed by assembler ${assembler.kid}, which is not trusted: expected one of ${stranger.kid}`);
  });

  it('a document re-signed by someone else who also swapped in their own assembler key', async () => {
    const d = copy();
    const mallory = generateKeyPair();
    const doc = await readDistribution(d);
    const { kty, crv, x, kid } = toJwk(mallory.publicKey);
    await writeDistribution(
      d,
      signDistribution({ ...doc, assembler: { kty, crv, x, kid: kid! }, plugins: doc.plugins.map((p) => ({ ...p, grants: [...p.grants] })) }, mallory),
    );
    const e = await rejection(verifyDistribution(d, { trust }));
    expect(e.code).toBe('EUNTRUSTED');
    expect(e.message).toContain(mallory.kid);
  });

  it('a forged signature and an altered signed copy', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.signature!.value = `${doc.signature!.value[0] === 'A' ? 'B' : 'A'}${doc.signature!.value.slice(1)}`;
    });
    expect((await messages(d))[0]).toMatch(/^signature invalid: the signature or the signed copy was altered/);
    const d2 = copy();
    editJson(d2, (doc) => {
      doc.signature!.signed = doc.signature!.signed.replace('"kv:gate/"', '"kv"');
      doc.plugins[1]!.grants = ['kv'];
    });
    expect((await messages(d2))[0]).toMatch(/^signature invalid/);
  });

  it('an unsigned document', async () => {
    const d = copy();
    editJson(d, (doc) => {
      delete doc.signature;
    });
    expect(await messages(d)).toEqual(['not signed: distribution.json has no signature (run mcp0 dist lock)']);
  });

  it('a plugin signed by a key that is not among the publishers', async () => {
    const d = copy();
    const stranger = generateKeyPair();
    const foreign = signModule(await unsigned('hello'), stranger);
    writeFileSync(join(d, 'plugins/mcp0.hello.wasm'), foreign);
    const doc = await readDistribution(d);
    // Signed directly, past lock's checks, as a careless or hostile assembler could.
    await writeDistribution(
      d,
      signDistribution({ ...doc, plugins: doc.plugins.map((p) => (p.name === 'mcp0.hello' ? { ...p, sha256: sha256Hex(foreign) } : p)) }, assembler),
    );
    const report = await checkDistribution(d, { trust });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ code: 'EUNTRUSTED', check: 'publisher', plugin: 'mcp0.hello' });
    expect(report.problems[0]!.message).toMatch(/^plugin mcp0\.hello: signed by no trusted publisher of this distribution/);
  });

  it('a removed publisher', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.publishers = [];
    });
    const problems = await messages(d);
    expect(problems).toContain(`changed since signed: publisher removed: ${publisher.kid}`);
    expect(problems.filter((m) => /signed by no trusted publisher/.test(m))).toHaveLength(2);
  });
});

describe('hostile documents and paths', () => {
  it('refuses a file path that leaves the directory, in the schema and in the reader', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins[0]!.file = '../../etc/passwd';
    });
    const report = await checkDistribution(d, { trust });
    expect(report.problems[0]).toMatchObject({ code: 'EINPUT', check: 'schema' });
    expect(report.problems[0]!.message).toMatch(/\/plugins\/0\/file/);
  });

  it('refuses a plugin file that is a symbolic link out of the directory', async () => {
    const d = copy();
    const outside = join(tempDir(), 'outside.wasm');
    writeFileSync(outside, hello);
    rmSync(join(d, 'plugins/mcp0.hello.wasm'));
    symlinkSync(outside, join(d, 'plugins/mcp0.hello.wasm'));
    const report = await checkDistribution(d, { trust });
    expect(report.problems[0]).toMatchObject({ code: 'EINPUT', check: 'file', plugin: 'mcp0.hello' });
    expect(report.problems[0]!.message).toMatch(/links outside the distribution directory/);
  });

  it.each([
    ['not JSON', '{"name":'],
    ['an array', '[]'],
    ['a private key among the publishers', null],
    ['a duplicate plugin', null],
    ['an unknown isolation tier', null],
  ])('refuses a document that is %s with EINPUT', async (what, text) => {
    const d = copy();
    if (text !== null) writeFileSync(join(d, DISTRIBUTION_FILE), text);
    else {
      editJson(d, (doc) => {
        if (what.startsWith('a private')) (doc.publishers[0] as Record<string, unknown>).d = toJwk(publisher).d;
        if (what.startsWith('a duplicate')) doc.plugins.push({ ...doc.plugins[0]!, file: 'plugins/x.wasm' });
        if (what.startsWith('an unknown')) (doc.plugins[0] as unknown as Record<string, unknown>).isolation = 'none';
      });
    }
    const report = await checkDistribution(d, { trust });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ code: 'EINPUT', check: 'schema' });
  });

  it('refuses a document over the size limit, and a plugin file that is a directory', async () => {
    const d = copy();
    writeFileSync(join(d, DISTRIBUTION_FILE), ' '.repeat(MAX_DOCUMENT_BYTES + 1));
    expect((await checkDistribution(d, { trust })).problems[0]).toMatchObject({ code: 'ETOOBIG' });
    const d2 = copy();
    rmSync(join(d2, 'plugins/test.gate.wasm'));
    mkdirSync(join(d2, 'plugins/test.gate.wasm'));
    const report = await checkDistribution(d2, { trust });
    expect(report.problems[0]).toMatchObject({ code: 'ENOTFOUND', check: 'file', plugin: 'test.gate' });
    expect(report.problems[0]!.message).toMatch(/cannot be read \(EISDIR\)/);
  });

  it('names a missing directory', async () => {
    const report = await checkDistribution(join(tempDir(), 'nope'), { trust });
    expect(report.problems[0]).toMatchObject({ code: 'ENOTFOUND' });
    expect(report.problems[0]!.message).toMatch(/no distribution in .*nope/);
  });

  it('refuses a member named twice, nested ("perCall" in a plugin\'s config), though the last value is the signed one', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins.find((p) => p.name === 'test.gate')!.config = { limit: 3, pricing: { currency: 'EUR', perCall: 5 } };
    });
    await lockDistribution(d, assembler);
    const path = join(d, DISTRIBUTION_FILE);
    const text = readFileSync(path, 'utf8');
    expect(await messages(d)).toEqual([]);
    // A reader that keeps the first sees 0; JSON.parse keeps the 5 that was signed.
    writeFileSync(path, text.replace('"perCall": 5', '"perCall": 0,\n          "perCall": 5'));
    const index = (JSON.parse(text) as DistributionDocument).plugins.findIndex((p) => p.name === 'test.gate');
    const e = await rejection(readDistribution(d));
    expect(e).toBeInstanceOf(LoadError);
    expect(e.code).toBe('EINPUT');
    expect(e.details).toMatchObject({ check: 'schema', key: 'perCall', path: `/plugins/${index}/config/pricing/perCall` });
    expect(e.message).toMatch(new RegExp(`^distribution\\.json: duplicate member "perCall" at /plugins/${index}/config/pricing/perCall \\(offset \\d+\\)`));
    const report = await checkDistribution(d, { trust });
    expect(report.problems).toEqual([expect.objectContaining({ code: 'EINPUT', check: 'schema', message: e.message })]);
  });

  it('refuses a publisher key whose kid is not its thumbprint', async () => {
    const d = copy();
    const other = generateKeyPair();
    editJson(d, (doc) => {
      doc.publishers[0]!.kid = other.kid;
    });
    const problems = (await checkDistribution(d, { trust })).problems;
    expect(problems.some((p) => p.code === 'EINPUT' && p.check === 'publisher' && p.message.includes('"kid"'))).toBe(true);
  });
});

describe('edits that are refused, writing nothing', () => {
  it('lock with a key other than the assembler', async () => {
    const d = copy();
    const before = readFileSync(join(d, DISTRIBUTION_FILE));
    const e = await rejection(lockDistribution(d, generateKeyPair()));
    expect(e.code).toBe('EUSAGE');
    expect(e.message).toContain(`expected the assembler key ${assembler.kid}`);
    expect(readFileSync(join(d, DISTRIBUTION_FILE)).equals(before)).toBe(true);
  });

  it('lock of a distribution with a broken plugin', async () => {
    const d = copy();
    editJson(d, (doc) => {
      doc.plugins[0]!.grants = ['clock', 'random'];
    });
    const before = readFileSync(join(d, DISTRIBUTION_FILE));
    const e = await rejection(lockDistribution(d, assembler));
    expect(e.code).toBe('ECAPABILITY');
    expect(e.message).toMatch(/mcp0\.hello: requested capabilities not granted: kv/);
    expect(readFileSync(join(d, DISTRIBUTION_FILE)).equals(before)).toBe(true);
  });

  it('adding a plugin by an unknown publisher, or without a required grant', async () => {
    const d = tempDir();
    await createDistribution(d, { name: 'x', assembler: assembler.publicKey });
    const e = await rejection(addPlugin(d, hello, { grants: ['kv:hello/', 'clock', 'random'] }));
    expect(e.code).toBe('EUNTRUSTED');
    expect(e.message).toMatch(/^adding mcp0\.hello refused: plugin mcp0\.hello: signed by no trusted publisher/);
    const e2 = await rejection(addPlugin(d, hello, { grants: ['clock'], publishers: [publisher.publicKey] }));
    expect(e2.code).toBe('ECAPABILITY');
    const doc = await readDistribution(d);
    expect(doc.plugins).toEqual([]);
    expect(doc.publishers).toEqual([]);
  });

  it('a pipeline naming a plugin without the hook, or no plugin at all', async () => {
    const d = copy();
    const e = await rejection(setPipeline(d, { admit: ['mcp0.hello'] }));
    expect(e.message).toMatch(/pipeline admit names mcp0\.hello, whose manifest does not declare the admit hook \(its hooks: none\)/);
    const e2 = await rejection(setPipeline(d, { observe: ['acme.ghost'] }));
    expect(e2.message).toMatch(/not a plugin of this distribution/);
  });

  it('revoking what is not granted, or a grant that leaves a requirement unmet', async () => {
    const d = copy();
    expect((await rejection(changeGrants(d, 'test.gate', { revoke: ['net'] }))).code).toBe('EUSAGE');
    expect((await rejection(changeGrants(d, 'test.gate', { revoke: ['kv'] }))).code).toBe('ECAPABILITY');
    expect((await rejection(changeGrants(d, 'acme.ghost', { grant: ['kv'] }))).code).toBe('EUSAGE');
  });
});

describe('edits, then verify names them until the next lock', () => {
  it("grant replaces a capability's scope, revoke removes by name; remove takes the plugin out of the pipeline and deletes its file", async () => {
    const d = copy();
    expect(await changeGrants(d, 'test.gate', { grant: ['kv', 'crypto'] })).toEqual(['kv', 'crypto']);
    expect(await changeGrants(d, 'test.gate', { revoke: ['crypto'] })).toEqual(['kv']);
    expect(await messages(d)).toEqual(['changed since signed: grant widened on test.gate: kv:gate/ → kv']);

    expect(await removePlugin(d, 'test.gate')).toEqual(['admit', 'observe']);
    expect(() => readFileSync(join(d, 'plugins/test.gate.wasm'))).toThrow();
    expect(await messages(d)).toEqual([
      'changed since signed: plugin removed: test.gate',
      'changed since signed: pipeline changed: admit [test.gate] → []',
      'changed since signed: pipeline changed: observe [test.gate] → []',
    ]);
    await lockDistribution(d, assembler);
    expect((await loadDistribution(d, { trust })).plugins.map((p) => p.name)).toEqual(['mcp0.hello']);
  });

  it('adding a plugin again replaces it in place', async () => {
    const d = copy();
    const again = signModule(signModule(await unsigned('hello'), publisher), generateKeyPair());
    const entry = await addPlugin(d, again, { grants: ['kv:hello/', 'clock', 'random'] });
    expect(entry.sha256).toBe(sha256Hex(again));
    const doc = await readDistribution(d);
    expect(doc.plugins.map((p) => p.name)).toEqual(['mcp0.hello', 'test.gate']);
    expect(await messages(d)).toEqual([
      `changed since signed: plugin swapped: mcp0.hello sha256 ${sha256Hex(hello).slice(0, 12)}… → ${sha256Hex(again).slice(0, 12)}…`,
    ]);
  });
});
