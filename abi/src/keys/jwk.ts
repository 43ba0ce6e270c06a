/**
 * Ed25519 keys as JWK (RFC 8037 §2: `{"kty":"OKP","crv":"Ed25519","x":…,"d":…}`), parsed strictly:
 * every problem is an `EUSAGE` error saying what was expected and what came. Members we do not
 * know are ignored, as RFC 7517 §4 requires; the ones we know must be right.
 */
import { describe, UsageError } from '../errors/index.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH } from './ed25519.js';
import { privateKeyFromSeed, publicKeyFromBytes, publicKeyOf } from './key.js';
import type { PrivateJwk, PrivateKey, PublicJwk, PublicKey } from './types.js';

/** JWK "alg" values meaning Ed25519 signatures: RFC 8037's "EdDSA" and RFC 9864's "Ed25519". */
const ALGS = ['EdDSA', 'Ed25519'];

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new UsageError('EUSAGE', message, details);
}

/** Parse JSON text or accept an already-parsed value; either way return a JSON object. */
function asObject(input: unknown): Record<string, unknown> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      fail(`JWK: expected JSON text, got invalid JSON (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`JWK: expected a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** A member that must be one of `allowed`, when present (or always, when `required`). */
function expectOneOf(jwk: Record<string, unknown>, name: string, allowed: readonly string[], required: boolean): void {
  const value = jwk[name];
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    fail(`JWK "${name}": expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${value === undefined ? 'nothing' : describe(value)}`, {
      member: name,
      expected: allowed,
      got: value,
    });
  }
}

/** A base64url member that must decode to exactly `length` bytes. */
function bytesMember(jwk: Record<string, unknown>, name: string, length: number): Uint8Array {
  const value = jwk[name];
  if (typeof value !== 'string') fail(`JWK "${name}": expected a base64url string, got ${value === undefined ? 'nothing' : describe(value)}`, { member: name });
  const bytes = base64urlDecode(value, `JWK "${name}"`);
  if (bytes.length !== length) fail(`JWK "${name}": expected ${length} bytes, got ${bytes.length}`, { member: name, expected: length, got: bytes.length });
  return bytes;
}

/**
 * Parse a public or private Ed25519 JWK (JSON text or object). A private JWK's "x" must match the
 * key derived from "d", and a "kid", if present, must be the RFC 7638 thumbprint.
 * @example
 * const key = parseJwk(await readFile('publisher.jwk', 'utf8'))
 * if (key.type === 'private') signModule(bytes, key)
 */
export function parseJwk(input: unknown): PrivateKey | PublicKey {
  const jwk = asObject(input);
  expectOneOf(jwk, 'kty', ['OKP'], true);
  expectOneOf(jwk, 'crv', ['Ed25519'], true);
  expectOneOf(jwk, 'alg', ALGS, false);
  expectOneOf(jwk, 'use', ['sig'], false);
  const publicKey = publicKeyFromBytes(bytesMember(jwk, 'x', ED25519_PUBLIC_KEY_LENGTH));
  const key = jwk.d === undefined ? publicKey : privateKeyFromSeed(bytesMember(jwk, 'd', ED25519_SEED_LENGTH));
  if (key.type === 'private' && key.kid !== publicKey.kid) {
    fail(`JWK "x": expected ${base64urlEncode(key.publicKey.bytes)} (the public key of "d"), got ${jwk.x as string}`, {
      expected: base64urlEncode(key.publicKey.bytes),
      got: jwk.x,
    });
  }
  if (jwk.kid !== undefined && jwk.kid !== key.kid) {
    fail(`JWK "kid": expected the RFC 7638 thumbprint ${key.kid}, got ${describe(jwk.kid)}`, { expected: key.kid, got: jwk.kid });
  }
  return key;
}

/**
 * Parse a JWK that must hold a private key.
 * @example
 * const signer = parsePrivateJwk(text)
 */
export function parsePrivateJwk(input: unknown): PrivateKey {
  const key = parseJwk(input);
  if (key.type !== 'private') fail(`JWK: expected a private key (with "d"), got a public key ${key.kid}`, { kid: key.kid });
  return key;
}

/**
 * Parse a JWK that must hold only a public key. A private JWK is refused rather than silently
 * reduced, so a secret never ends up in a trust list by mistake.
 * @example
 * const trusted = parsePublicJwk(text)
 */
export function parsePublicJwk(input: unknown): PublicKey {
  const key = parseJwk(input);
  if (key.type !== 'public') fail(`JWK: expected a public key (no "d"), got a private key ${key.kid}`, { kid: key.kid });
  return key;
}

/**
 * A key as a JWK object, with its thumbprint as "kid".
 * @example
 * JSON.stringify(toJwk(key)) // '{"kty":"OKP","crv":"Ed25519","x":"…","d":"…","kid":"…"}'
 */
export function toJwk(key: PrivateKey): PrivateJwk;
export function toJwk(key: PublicKey): PublicJwk;
export function toJwk(key: PrivateKey | PublicKey): PrivateJwk | PublicJwk;
export function toJwk(key: PrivateKey | PublicKey): PrivateJwk | PublicJwk {
  const { bytes, kid } = publicKeyOf(key);
  const x = base64urlEncode(bytes);
  return key.type === 'private' ? { kty: 'OKP', crv: 'Ed25519', x, d: base64urlEncode(key.seed), kid } : { kty: 'OKP', crv: 'Ed25519', x, kid };
}

/**
 * The public JWK of a key or of a (private or public) JWK: the private JWK minus "d".
 * @example
 * await writeFile('publisher.pub.jwk', JSON.stringify(toPublicJwk(privateJwk)))
 */
export function toPublicJwk(key: PrivateKey | PublicKey | PrivateJwk | PublicJwk): PublicJwk {
  const parsed = 'type' in key ? key : parseJwk(key);
  return toJwk(publicKeyOf(parsed));
}

/**
 * A key as JWK file text: pretty JSON with a final newline.
 * @example
 * await writeFile(path, formatJwk(key), { mode: 0o600 })
 */
export function formatJwk(key: PrivateKey | PublicKey): string {
  return `${JSON.stringify(toJwk(key), null, 2)}\n`;
}
