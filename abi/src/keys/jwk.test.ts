// JWK parsing (strict), serialising and key files.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mcp0Error, UsageError } from '../errors/index.js';
import { readKeyFile, writeKeyFile } from './file.js';
import { formatJwk, parseJwk, parsePrivateJwk, parsePublicJwk, toJwk, toPublicJwk } from './jwk.js';
import { generateKeyPair, privateKeyFromSeed, publicKeyFromBytes } from './key.js';

// RFC 8037 Appendix A.1/A.2: the RFC 8032 TEST 1 key.
const D = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A';
const X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const KID = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';
const PRIVATE = { kty: 'OKP', crv: 'Ed25519', d: D, x: X };
const PUBLIC = { kty: 'OKP', crv: 'Ed25519', x: X };

/** The EUSAGE error `fn` throws (fails the test if it throws anything else or nothing). */
function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Mcp0Error).code).toBe('EUSAGE');
    return e as UsageError;
  }
  throw new Error('expected an EUSAGE error, nothing was thrown');
}

describe('parseJwk', () => {
  it('parses the RFC 8037 private key, from text or object', () => {
    for (const input of [PRIVATE, JSON.stringify(PRIVATE)]) {
      const key = parsePrivateJwk(input);
      expect(key.kid).toBe(KID);
      expect(Buffer.from(key.seed).toString('hex')).toBe('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
      expect(Buffer.from(key.publicKey.bytes).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    }
  });

  it('parses a public key and accepts a correct kid, alg and use; ignores unknown members', () => {
    const key = parsePublicJwk({ ...PUBLIC, kid: KID, alg: 'EdDSA', use: 'sig', x5t: 'ignored' });
    expect(key).toMatchObject({ type: 'public', kid: KID });
  });

  it.each([
    ['wrong kty', { ...PUBLIC, kty: 'EC' }, /"kty": expected "OKP", got "EC"/],
    ['missing kty', { crv: 'Ed25519', x: X }, /"kty": expected "OKP", got nothing/],
    ['wrong crv', { ...PUBLIC, crv: 'X25519' }, /"crv": expected "Ed25519", got "X25519"/],
    ['Ed448', { ...PUBLIC, crv: 'Ed448' }, /"crv": expected "Ed25519", got "Ed448"/],
    ['short x', { ...PUBLIC, x: X.slice(0, 40) }, /"x": expected 32 bytes, got 30/],
    ['x not a string', { ...PUBLIC, x: 42 }, /"x": expected a base64url string, got number 42/],
    ['padded x', { ...PUBLIC, x: `${X}=` }, /"x": expected unpadded base64url/],
    ['standard base64 x', { ...PUBLIC, x: X.replace('_', '/') }, /"x": expected unpadded base64url/],
    ['non-canonical x', { ...PUBLIC, x: `${X.slice(0, -1)}p` }, /"x": not canonical base64url/],
    ['long d', { ...PRIVATE, d: `${D}AAAA` }, /"d": expected 32 bytes, got 35/],
    ['d of another key', { ...PRIVATE, d: 'TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs' }, /"x": expected .* \(the public key of "d"\), got 11qY/],
    ['wrong kid', { ...PUBLIC, kid: 'someone-else' }, /"kid": expected the RFC 7638 thumbprint kPrK.*, got "someone-else"/],
    ['wrong alg', { ...PUBLIC, alg: 'ES256' }, /"alg": expected "EdDSA" or "Ed25519", got "ES256"/],
    ['wrong use', { ...PUBLIC, use: 'enc' }, /"use": expected "sig", got "enc"/],
    ['an array', [PUBLIC], /expected a JSON object, got array\(1\)/],
    ['null', null, /expected a JSON object, got null/],
    ['bad JSON', '{"kty":', /expected JSON text, got invalid JSON/],
    ['a small-order x', { ...PUBLIC, x: 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, /small-order/],
  ])('rejects %s with EUSAGE saying what was expected and what came', (_name, input, message) => {
    expect(usageError(() => parseJwk(input)).message).toMatch(message);
  });

  it('parsePublicJwk refuses a private key and parsePrivateJwk a public one', () => {
    expect(usageError(() => parsePublicJwk(PRIVATE)).message).toMatch(/expected a public key \(no "d"\), got a private key/);
    expect(usageError(() => parsePrivateJwk(PUBLIC)).message).toMatch(/expected a private key \(with "d"\), got a public key/);
  });
});

describe('toJwk / toPublicJwk / formatJwk', () => {
  it('round-trips a generated key and carries the thumbprint as kid', () => {
    const key = generateKeyPair();
    const jwk = toJwk(key);
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), d: expect.any(String), kid: key.kid });
    expect(parsePrivateJwk(jwk)).toEqual(key);
    expect(parseJwk(formatJwk(key))).toEqual(key);
  });

  it('gives the public JWK of a private JWK or key', () => {
    expect(toPublicJwk(PRIVATE as never)).toEqual({ ...PUBLIC, kid: KID });
    expect(toPublicJwk(parsePrivateJwk(PRIVATE))).toEqual({ ...PUBLIC, kid: KID });
    expect(toJwk(publicKeyFromBytes(privateKeyFromSeed(new Uint8Array(32)).publicKey.bytes))).not.toHaveProperty('d');
  });
});

describe('key files', () => {
  const dir = mkdtemp(join(tmpdir(), 'mcp0-keys-'));
  afterAll(async () => rm(await dir, { recursive: true, force: true }));

  it('writes a private key owner-only, reads it back, refuses to overwrite', async () => {
    const path = join(await dir, 'publisher.jwk');
    const key = generateKeyPair();
    await writeKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readKeyFile(path)).toEqual(key);
    await expect(writeKeyFile(path, generateKeyPair())).rejects.toThrow(/publisher\.jwk: cannot read or write the key file \(EEXIST\)/);
    await writeKeyFile(path, key.publicKey, { overwrite: true });
    expect(JSON.parse(await readFile(path, 'utf8'))).not.toHaveProperty('d');
  });

  it('names the file in parse errors and keeps the code', async () => {
    const path = join(await dir, 'missing.jwk');
    await expect(readKeyFile(path)).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringMatching(/missing\.jwk: .*ENOENT/) });
  });
});
