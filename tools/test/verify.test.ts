/**
 * `mcp0 verify`: exit 0 only when valid and trusted; otherwise the failed check is named. Tampering
 * with code, manifest or signature, a stripped signature, an untrusted signer, trust by key id.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SECTION, SIGNATURE_SECTION, formatJwk, generateKeyPair, parseSections, stripSignatures } from '@mcp0/abi';
import { KEYRING, run, signedFile, tempDir, unsignedFile, writeKeys } from './helpers.js';
import { publisher } from '../../test/fixtures.js';

/** A copy of `file` with one byte flipped in the middle of the section `pick` selects. */
function flipped(file: string, pick: (s: { id: number; name?: string }) => boolean, at: 'middle' | 'last' = 'middle'): string {
  const bytes = new Uint8Array(readFileSync(file));
  const section = parseSections(bytes).find(pick);
  if (!section) throw new Error('no such section');
  const offset = section.payload.byteOffset - bytes.byteOffset + (at === 'last' ? section.payload.length - 1 : section.payload.length >> 1);
  bytes[offset]! ^= 0x01;
  const out = `${file}.${Math.random().toString(36).slice(2)}.wasm`;
  writeFileSync(out, bytes);
  return out;
}

describe('mcp0 verify', () => {
  it('exits 0 for a valid module signed by a trusted key, and says which checks passed', async () => {
    const f = await signedFile('hello');
    const r = await run('verify', f.file, '--trust', f.pub);
    expect(r.code, r.err).toBe(0);
    // stderr says only which key was trusted and where it came from.
    expect(r.err).toBe(`trust: publisher ${f.kid} from --trust ${f.pub}\n`);
    expect(r.out).toContain(f.kid);
    expect(r.out).toMatch(/signature.*trust/);

    const json = await run('verify', f.file, '--trust', f.pub, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, module: 'mcp0.hello', signers: [f.kid] });
    expect(JSON.parse(json.out).sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['the code', (s: { id: number; name?: string }) => s.id === 10, 'middle'],
    ['the data', (s: { id: number; name?: string }) => s.id === 11, 'middle'],
    ['the manifest', (s: { id: number; name?: string }) => s.id === 0 && s.name === MANIFEST_SECTION, 'middle'],
    ['the signature', (s: { id: number; name?: string }) => s.id === 0 && s.name === SIGNATURE_SECTION, 'last'],
    ['the signed hash', (s: { id: number; name?: string }) => s.id === 0 && s.name === SIGNATURE_SECTION, 'middle'],
  ] as const)('fails the signature check after a flipped byte in %s', async (_what, pick, at) => {
    const f = await signedFile('hello');
    const r = await run('verify', flipped(f.file, pick, at), '--trust', f.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signature/);
    expect(r.err).toMatch(/ESIGNATURE/);
    expect(r.out).toBe('');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('fails the signature check when the signature is stripped, and for a never-signed module', async () => {
    const f = await signedFile('hello');
    const stripped = join(f.dir, 'stripped.wasm');
    writeFileSync(stripped, stripSignatures(new Uint8Array(readFileSync(f.file))));
    const r = await run('verify', stripped, '--trust', f.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signature check.*not signed/);

    const u = await unsignedFile('hello');
    const r2 = await run('verify', u.file, '--trust', f.pub, '--json');
    expect(r2.code).toBe(1);
    expect(JSON.parse(r2.out)).toMatchObject({ ok: false, check: 'signature', error: { code: 'ESIGNATURE' } });
  });

  it('fails the trust check for a valid signature by an untrusted key', async () => {
    const f = await signedFile('hello');
    const other = writeKeys(tempDir(), generateKeyPair(), 'other');
    const r = await run('verify', f.file, '--trust', other.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/trust check/);
    expect(r.err).toMatch(/EUNTRUSTED/);
    const json = await run('verify', f.file, '--trust', other.pub, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, check: 'trust' });
    // Trusting the signer too is enough: one trusted signer suffices.
    expect((await run('verify', f.file, '--trust', other.pub, '--trust', f.pub)).code).toBe(0);
  });

  it('trusts a key id found in the keyring, by file name or by scanning', async () => {
    // keygen puts the public half into $MCP0_KEYRING as <kid>.jwk.
    const dir = tempDir();
    const made = await run('keygen', '--out', join(dir, 'k.jwk'));
    const kid = /key id:\s+(\S+)/.exec(made.out)![1]!;
    const u = await unsignedFile('hello');
    expect((await run('sign', u.file, '--key', join(dir, 'k.jwk'))).code).toBe(0);
    const r = await run('verify', u.file, `--trust=${kid}`);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(kid);

    // A key stored under another name is still found by its thumbprint.
    const f = await signedFile('hello');
    writeFileSync(join(KEYRING, 'renamed-publisher.jwk'), formatJwk(publisher.publicKey));
    expect((await run('verify', f.file, `--trust=${publisher.kid}`)).code).toBe(0);

    // An explicit --keyring wins over $MCP0_KEYRING.
    const ring = tempDir();
    copyFileSync(f.pub, join(ring, 'x.jwk'));
    expect((await run('verify', f.file, `--trust=${publisher.kid}`, '--keyring', ring)).code).toBe(0);
    expect((await run('verify', u.file, `--trust=${kid}`, '--keyring', ring)).code).toBe(2);
  });

  it('takes a key id starting with "-" (key ids are base64url), with or without "="', async () => {
    let key = generateKeyPair();
    while (!key.kid.startsWith('-')) key = generateKeyPair();
    const u = await unsignedFile('hello');
    const keys = writeKeys(u.dir, key, 'dash');
    copyFileSync(keys.pub, join(KEYRING, `${key.kid}.jwk`));
    expect((await run('sign', u.file, '--key', keys.priv)).code).toBe(0);
    const r = await run('verify', u.file, `--trust=${key.kid}`);
    expect(r.code, r.err).toBe(0);
    const spaced = await run('verify', u.file, '--trust', key.kid);
    expect(spaced.code, spaced.err).toBe(0);
    // An option of the command's own after a string option is still a missing value, not the value.
    const missing = await run('verify', u.file, '--trust', '--debug');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--trust/);
  });

  it('exits 2 for an unknown key id, a value that is neither file nor id, or no --trust', async () => {
    const f = await signedFile('hello');
    const unknown = await run('verify', f.file, `--trust=${generateKeyPair().kid}`);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/keyring/);
    expect(unknown.err).not.toMatch(/\n\s+at /);
    expect((await run('verify', f.file, '--trust', 'not-a-key')).code).toBe(2);
    const none = await run('verify', f.file);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--trust/);
  });

  it('ignores a keyring file whose name lies about the key inside', async () => {
    const f = await signedFile('hello');
    const ring = tempDir();
    const liar = generateKeyPair();
    writeFileSync(join(ring, `${publisher.kid}.jwk`), formatJwk(liar.publicKey));
    const r = await run('verify', f.file, `--trust=${publisher.kid}`, '--keyring', ring);
    expect(r.code).toBe(2);
  });

  it('exits 2 for a --trust file that is not a public key, without a stack', async () => {
    const f = await signedFile('hello');
    const bad = join(f.dir, 'bad.jwk');
    writeFileSync(bad, '{"kty":"OKP","crv":"Ed25519","x":"!!"}');
    const r = await run('verify', f.file, '--trust', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.jwk/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['text', new TextEncoder().encode('hello world, not wasm')],
    ['a bare header', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)],
    ['a section running past the end', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 1)],
  ])('fails without a stack for a file that is %s', async (_what, bytes) => {
    const f = await signedFile('hello');
    const file = join(f.dir, 'x.wasm');
    writeFileSync(file, bytes);
    const r = await run('verify', file, '--trust', f.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/verify failed at the (wasm|signature) check/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('fails when the file is truncated', async () => {
    const f = await signedFile('hello');
    const bytes = readFileSync(f.file);
    const file = join(f.dir, 'short.wasm');
    writeFileSync(file, bytes.subarray(0, bytes.length - 7));
    const r = await run('verify', file, '--trust', f.pub);
    expect(r.code).toBe(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('reports a missing file', async () => {
    const f = await signedFile('hello');
    const r = await run('verify', join(f.dir, 'missing.wasm'), '--trust', f.pub);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ENOENT/);
  });
});
