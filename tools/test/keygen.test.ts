/** `mcp0 keygen`: key files, their modes, the key id, the keyring, and refusing to overwrite. */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readKeyFile } from '@mcp0/abi';
import { KEYRING, run, tempDir } from './helpers.js';

describe('mcp0 keygen', () => {
  it('writes a 0600 private key, a .pub.jwk beside it, and prints the key id and the public path', async () => {
    const dir = tempDir();
    const out = join(dir, 'pub-lisher.jwk');
    const r = await run('keygen', '--out', out);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const priv = await readKeyFile(out);
    const pubPath = join(dir, 'pub-lisher.pub.jwk');
    const pub = await readKeyFile(pubPath);
    expect(priv.type).toBe('private');
    expect(pub.type).toBe('public');
    expect(pub.kid).toBe(priv.kid);
    expect(JSON.parse(readFileSync(pubPath, 'utf8')).d).toBeUndefined();
    expect(r.out).toContain(priv.kid);
    expect(r.out).toContain(pubPath);
    // The public half lands in the keyring ($MCP0_KEYRING, a temp dir), never ~/.mcp0.
    expect(existsSync(join(KEYRING, `${priv.kid}.jwk`))).toBe(true);
    expect(JSON.parse(readFileSync(join(KEYRING, `${priv.kid}.jwk`), 'utf8')).d).toBeUndefined();
  });

  it('names the public file <name>.pub.jwk even without a .jwk suffix', async () => {
    const dir = tempDir();
    const r = await run('keygen', '--out', join(dir, 'k'));
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'k.pub.jwk'))).toBe(true);
  });

  it('refuses to overwrite an existing key without --force, and keeps the old key', async () => {
    const dir = tempDir();
    const out = join(dir, 'key.jwk');
    expect((await run('keygen', '--out', out)).code).toBe(0);
    const before = readFileSync(out, 'utf8');
    const r = await run('keygen', '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/EEXIST|exist/i);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(readFileSync(out, 'utf8')).toBe(before);

    const forced = await run('keygen', '--out', out, '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toBe(before);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect((await readKeyFile(join(dir, 'key.pub.jwk'))).kid).toBe((await readKeyFile(out)).kid);
  });

  it('refuses when only the public file exists, without leaving a half-written pair', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'key.pub.jwk'), 'keep me');
    const r = await run('keygen', '--out', join(dir, 'key.jwk'));
    expect(r.code).not.toBe(0);
    expect(readFileSync(join(dir, 'key.pub.jwk'), 'utf8')).toBe('keep me');
    expect(existsSync(join(dir, 'key.jwk'))).toBe(false);
  });

  it('--force over a world-readable file still leaves the private key 0600', async () => {
    const dir = tempDir();
    const out = join(dir, 'key.jwk');
    writeFileSync(out, 'old', { mode: 0o644 });
    const r = await run('keygen', '--out', out, '--force');
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('needs --out (usage error, exit 2) and takes no positionals', async () => {
    const r = await run('keygen');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out/);
    expect((await run('keygen', 'extra', '--out', join(tempDir(), 'k.jwk'))).code).toBe(2);
  });

  it('reports an unwritable path without a stack trace', async () => {
    const r = await run('keygen', '--out', join(tempDir(), 'no', 'such', 'dir', 'k.jwk'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ENOENT/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
