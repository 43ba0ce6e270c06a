/** `mcp0 sign`: signatures are added, earlier signers kept; only private keys sign. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countSignatures, generateKeyPair } from '@mcp0/abi';
import { run, tempDir, unsignedFile, writeKeys } from './helpers.js';

const signatureCount = (file: string) => countSignatures(new Uint8Array(readFileSync(file)));

describe('mcp0 sign', () => {
  it('signs in place; a second signer keeps the first, and either key alone verifies', async () => {
    const { dir, file } = await unsignedFile('hello');
    const alice = writeKeys(dir, generateKeyPair(), 'alice');
    const bob = writeKeys(dir, generateKeyPair(), 'bob');

    const first = await run('sign', file, '--key', alice.priv);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain(alice.kid);
    expect(signatureCount(file)).toBe(1);

    const second = await run('sign', file, '--key', bob.priv);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/2 signatures/);
    expect(signatureCount(file)).toBe(2);

    for (const key of [alice, bob]) {
      const v = await run('verify', file, '--trust', key.pub);
      expect(v.code, v.err).toBe(0);
      expect(v.out).toContain(key.kid);
    }
    const both = await run('verify', file, '--trust', alice.pub, '--trust', bob.pub, '--json');
    expect(both.code).toBe(0);
    expect(JSON.parse(both.out).signers.sort()).toEqual([alice.kid, bob.kid].sort());
    // A third key that signed nothing is not trusted by the others' signatures.
    const carol = writeKeys(dir, generateKeyPair(), 'carol');
    expect((await run('verify', file, '--trust', carol.pub)).code).toBe(1);
  });

  it('writes to --out and leaves the input as it was', async () => {
    const { dir, file } = await unsignedFile('hello');
    const before = readFileSync(file);
    const keys = writeKeys(dir, generateKeyPair());
    const out = join(dir, 'signed.wasm');
    expect((await run('sign', file, '--key', keys.priv, '--out', out)).code).toBe(0);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
    expect((await run('verify', out, '--trust', keys.pub)).code).toBe(0);
    expect((await run('verify', file, '--trust', keys.pub)).code).toBe(1);
  });

  it('refuses a public key file as --key, and leaves the module unsigned', async () => {
    const { dir, file } = await unsignedFile('hello');
    const before = readFileSync(file);
    const keys = writeKeys(dir, generateKeyPair());
    const r = await run('sign', file, '--key', keys.pub);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/private key/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
  });

  it.each([
    ['not JSON', 'not json at all'],
    ['the wrong curve', JSON.stringify({ kty: 'OKP', crv: 'X25519', x: 'AAAA', d: 'AAAA' })],
    ['a short seed', JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', d: 'AAAA' })],
    ['an RSA key', JSON.stringify({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })],
  ])('refuses a key file that is %s', async (_what, text) => {
    const { dir, file } = await unsignedFile('hello');
    const before = readFileSync(file);
    writeFileSync(join(dir, 'bad.jwk'), text);
    const r = await run('sign', file, '--key', join(dir, 'bad.jwk'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.jwk/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
  });

  it('refuses a module without a manifest or that is not WebAssembly', async () => {
    const dir = tempDir();
    const keys = writeKeys(dir, generateKeyPair());
    const bare = join(dir, 'bare.wasm');
    writeFileSync(bare, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    const r = await run('sign', bare, '--key', keys.priv, '--out', join(dir, 'o.wasm'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no mcp0 manifest: .* mcp0 pack /);
    expect(existsSync(join(dir, 'o.wasm'))).toBe(false);

    const junk = join(dir, 'junk.wasm');
    writeFileSync(junk, 'MZ\x90\x00 definitely not wasm');
    const r2 = await run('sign', junk, '--key', keys.priv, '--out', join(dir, 'o.wasm'));
    expect(r2.code).not.toBe(0);
    expect(r2.err).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'o.wasm'))).toBe(false);
  });

  it('--replace drops earlier signatures: a module changed after signing can be signed again', async () => {
    const { dir, file } = await unsignedFile('hello');
    const first = writeKeys(dir, generateKeyPair(), 'first');
    const second = writeKeys(dir, generateKeyPair(), 'second');
    expect((await run('sign', file, '--key', first.priv)).code).toBe(0);
    // Change the module after signing (a trailing custom section): the old signature no longer covers it.
    const bytes = readFileSync(file);
    writeFileSync(file, Buffer.concat([bytes, Buffer.from([0, 5, 4, 0x6e, 0x6f, 0x74, 0x65])]));
    const refused = await run('sign', file, '--key', second.priv);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/strip the old signatures to re-sign \(mcp0 sign --replace\)/);
    const replaced = await run('sign', file, '--key', second.priv, '--replace');
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.err).toBe('--replace: dropped 1 earlier signature\n');
    expect(signatureCount(file)).toBe(1);
    expect((await run('verify', file, '--trust', second.pub)).code).toBe(0);
    expect((await run('verify', file, '--trust', first.pub)).code).toBe(1);
  });

  it('needs --key and one file', async () => {
    const { file } = await unsignedFile('hello');
    expect((await run('sign', file)).code).toBe(2);
    expect((await run('sign', '--key', 'k.jwk')).code).toBe(2);
    const missing = await run('sign', file, '--key', join(tempDir(), 'missing.jwk'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/ENOENT/);
  });
});
