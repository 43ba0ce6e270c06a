/**
 * Signed statements: small JSON documents an operator's key vouches for (a trace checkpoint, an
 * archive's seal). The signature is Ed25519 over the RFC 8785 canonical JSON of the statement
 * without `sig`; `type` and `signer` are inside the signed bytes, so a signature made for one kind
 * of statement can never be passed off as another, and the signer is named, not guessed: a
 * verifier looks the id up in the keys it was given and tries no other.
 */
import canonicalize from 'canonicalize';
import { Mcp0Error } from '../errors/index.js';
import { base64urlDecode, base64urlEncode } from '../keys/base64url.js';
import { ed25519Sign, ed25519Verify, ED25519_SIGNATURE_LENGTH } from '../keys/ed25519.js';
import type { PrivateKey, PublicKey } from '../keys/types.js';

/** What a statement's body may hold: JSON with integers only (canonical JSON is exact for them). */
export type StatementValue = string | number | boolean | null | StatementValue[] | { [key: string]: StatementValue };

/**
 * A signed statement: its members, `type`, the signer's key id and the signature.
 * @example
 * const s: SignedStatement = { type: 'mcp0.trace-checkpoint/1', seq: 41, head: '1234', time: 1765000000000, signer: 'kPrK…', sig: '…' }
 */
export interface SignedStatement {
  type: string;
  signer: string;
  sig: string;
  [member: string]: StatementValue;
}

/** A statement that is malformed, unsigned, signed by an untrusted key or tampered with (code `ESIGNATURE`, or `EINPUT` for shape). */
export class StatementError extends Mcp0Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function assertJsonValue(v: unknown, path: string): void {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new StatementError('EINPUT', `${path}: expected an integer (−2^53, 2^53), got ${v}`, { path });
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => assertJsonValue(x, `${path}/${i}`));
  if (isObject(v)) return Object.entries(v).forEach(([k, x]) => assertJsonValue(x, `${path}/${k}`));
  throw new StatementError('EINPUT', `${path}: expected JSON (string, integer, boolean, null, array, object), got ${typeof v}`, { path });
}

/** The bytes signed: canonical JSON of everything but `sig`. */
function signingBytes(statement: Record<string, unknown>): Uint8Array {
  const { sig: _ignored, ...body } = statement;
  return new TextEncoder().encode(canonicalize(body)!);
}

/**
 * Signs `body` as a statement of `type` by `key`.
 * @example
 * const checkpoint = signStatement('mcp0.trace-checkpoint/1', { seq: 41, head: '1234', time: Date.now() }, operatorKey)
 */
export function signStatement(type: string, body: { [member: string]: StatementValue }, key: PrivateKey): SignedStatement {
  if ('type' in body || 'signer' in body || 'sig' in body)
    throw new StatementError('EINPUT', 'a statement body may not set type, signer or sig: they are the envelope');
  assertJsonValue(body, '');
  const unsigned = { ...body, type, signer: key.kid };
  return { ...unsigned, sig: base64urlEncode(ed25519Sign(signingBytes(unsigned), key.seed)) };
}

/**
 * Checks that `value` is a statement of `type` signed by one of `trust`, and returns it. Refuses
 * (ESIGNATURE) a statement of another type, by a key not in `trust` (naming it and the trusted
 * ids), or whose signature does not verify; EINPUT for a value that is not a statement at all.
 * @example
 * const { statement, key } = verifyStatement(parseJson(text), 'mcp0.trace-checkpoint/1', [operatorPublicKey])
 */
export function verifyStatement(value: unknown, type: string, trust: readonly PublicKey[]): { statement: SignedStatement; key: PublicKey } {
  if (!isObject(value))
    throw new StatementError('EINPUT', `expected a signed statement (a JSON object), got ${Array.isArray(value) ? 'an array' : typeof value}`);
  const { type: got, signer, sig } = value;
  if (got !== type)
    throw new StatementError('ESIGNATURE', `expected a statement of type ${type}, got ${JSON.stringify(got)}`, { expected: type, got: String(got) });
  if (typeof signer !== 'string' || typeof sig !== 'string')
    throw new StatementError('ESIGNATURE', `the ${type} statement is unsigned: expected string members signer and sig`);
  assertJsonValue(value, '');
  const key = trust.find((k) => k.kid === signer);
  if (!key) {
    const trusted = trust.map((k) => k.kid).join(', ') || 'none';
    throw new StatementError('ESIGNATURE', `the ${type} statement is signed by ${signer}, which is not a trusted key (trusted: ${trusted})`, {
      signer,
      trusted: trust.map((k) => k.kid),
    });
  }
  let signature: Uint8Array;
  try {
    signature = base64urlDecode(sig, 'sig');
  } catch (e) {
    throw new StatementError('ESIGNATURE', `the ${type} statement's sig is not base64url: ${(e as Error).message}`, {}, { cause: e });
  }
  if (signature.length !== ED25519_SIGNATURE_LENGTH || !ed25519Verify(signature, signingBytes(value), key.bytes)) {
    throw new StatementError('ESIGNATURE', `the ${type} statement's signature by ${signer} does not verify: a member was changed after signing`, { signer });
  }
  return { statement: value as SignedStatement, key };
}
