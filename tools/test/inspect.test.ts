/** `mcp0 inspect`: manifest, signers, imports, exports and sizes, as text or JSON; nothing verified. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendManifest, generateKeyPair, parseJwk, parseSections, wasmsign2KeyId, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { publisher } from '../../test/fixtures.js';
import { run, signedFile, tempDir, unsignedFile, writeKeys } from './helpers.js';

/** How inspect names a signer: the wasmsign2 key id in hex. */
const idOf = (key: PrivateKey | PublicKey) => Buffer.from(wasmsign2KeyId(key)).toString('hex');

describe('mcp0 inspect', () => {
  it('--json gives manifest, signers, imports, exports and sizes', async () => {
    const f = await signedFile('hello');
    const r = await run('inspect', f.file, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.manifest).toMatchObject({ name: 'mcp0.hello', version: '0.1.0', kind: 'plugin' });
    expect(report.signers).toEqual([idOf(publisher)]);
    expect(report.signatures).toEqual([{ keyId: idOf(publisher), algorithm: 1, current: true }]);
    expect(report.imports).toEqual(expect.arrayContaining(['extism:host/env.input_length', expect.stringMatching(/^mcp0:abi\/v1\.kv_get$/)]));
    expect(report.exports).toEqual(expect.arrayContaining(['mcp0_abi_v1 (function)', 'greet (function)', 'count (function)']));
    const size = readFileSync(f.file).length;
    expect(report.size).toBe(size);
    expect(report.sizes.total).toBe(size);
    expect(report.sizes['custom:signature']).toBeGreaterThan(64);
    expect(report.sizes['custom:mcp0.manifest']).toBeGreaterThan(0);
    expect(report.sizes.code).toBeGreaterThan(0);
    // The sections account for every byte after the 8-byte header.
    expect(report.sections.reduce((n: number, s: { bytes: number }) => n + s.bytes, 8)).toBe(size);
  });

  it('prints a readable summary', async () => {
    const f = await signedFile('hello');
    const r = await run('inspect', f.file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/module:\s+mcp0\.hello@0\.1\.0/);
    expect(r.out).toMatch(/exports:\s+echo, count, stamp, greet/);
    expect(r.out).toContain(idOf(publisher));
    expect(r.out).toMatch(/imports:.*mcp0:abi\/v1\./);
    expect(r.out).toMatch(/sections:.*code \d+/);
  });

  it('works on an unsigned file', async () => {
    const u = await unsignedFile('hello');
    const text = await run('inspect', u.file);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/none \(unsigned\)/);
    const json = JSON.parse((await run('inspect', u.file, '--json')).out);
    expect(json.signers).toEqual([]);
    expect(json.signatures).toEqual([]);
    expect(json.manifest.name).toBe('mcp0.hello');
  });

  it('lists every signer and marks signatures the module no longer matches as stale', async () => {
    const f = await signedFile('hello');
    const second = writeKeys(f.dir, generateKeyPair(), 'second');
    expect((await run('sign', f.file, '--key', second.priv)).code).toBe(0);
    const json = JSON.parse((await run('inspect', f.file, '--json')).out);
    expect(json.signers.sort()).toEqual([idOf(publisher), idOf(parseJwk(readFileSync(second.priv, 'utf8')))].sort());

    // Replace the manifest after signing (the library keeps the signatures; `mcp0 pack` would drop
    // them): they stay, but no longer cover the module.
    const repacked = join(f.dir, 'repacked.wasm');
    writeFileSync(repacked, appendManifest(new Uint8Array(readFileSync(f.file)), { ...json.manifest, version: '0.1.1' }));
    const stale = await run('inspect', repacked);
    expect(stale.code).toBe(0);
    expect(stale.out).toMatch(/STALE/);
    expect(JSON.parse((await run('inspect', repacked, '--json')).out).signatures.every((s: { current: boolean }) => !s.current)).toBe(true);
  });

  it('shows a missing manifest as a problem instead of failing', async () => {
    const dir = tempDir();
    const file = join(dir, 'bare.wasm');
    writeFileSync(file, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    const r = await run('inspect', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).manifest.error).toMatch(/EMANIFEST/);
    expect((await run('inspect', file)).out).toMatch(/manifest:\s+invalid/);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['text', new TextEncoder().encode('not a module')],
    ['truncated', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x7f)],
  ])('fails cleanly (no stack) on a file that is %s', async (_what, bytes) => {
    const file = join(tempDir(), 'x.wasm');
    writeFileSync(file, bytes);
    const r = await run('inspect', file);
    expect(r.code).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^mcp0 inspect: /);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('needs exactly one file', async () => {
    expect((await run('inspect')).code).toBe(2);
    const u = await unsignedFile('hello');
    expect((await run('inspect', u.file, u.file)).code).toBe(2);
  });
});

describe('mcp0 inspect, naming signers', () => {
  it('names a signer by its key id (thumbprint) when the keyring holds its public key', async () => {
    const f = await signedFile('hello');
    const ring = tempDir('mcp0-ring-');
    writeKeys(ring, publisher, publisher.kid);
    const r = await run('inspect', f.file, '--json', '--keyring', ring);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.signers).toEqual([publisher.kid]);
    expect(report.signatures).toEqual([{ keyId: idOf(publisher), signer: publisher.kid, algorithm: 1, current: true }]);
    const text = await run('inspect', f.file, '--keyring', ring);
    expect(text.out).toMatch(new RegExp(`signatures:\\s+${publisher.kid.replace(/[-]/g, '\\-')}`));
  });

  it('still describes a module whose signature section is corrupt', async () => {
    const f = await signedFile('hello');
    const bytes = readFileSync(f.file);
    const sig = parseSections(new Uint8Array(bytes)).find((x) => x.name === 'signature')!;
    bytes[sig.end - sig.payload.length] = 0x7f; // the spec-version byte: no longer 0x01
    writeFileSync(f.file, bytes);
    const r = await run('inspect', f.file, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.manifest.name).toBe('mcp0.hello');
    expect(report.signatureError).toMatch(/^ESIGNATURE/);
  });
});
