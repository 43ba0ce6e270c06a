/**
 * The signed request envelope of `mcp0.rpc@1` (abi/ROLES.md): who calls (a key id and its key),
 * what (target and method), the payload's SHA-256, when (signing time and deadline) and a nonce,
 * signed with Ed25519 over a domain tag and the envelope's deterministic CBOR without `sig`. A node
 * accepts a call only through the rpc plugin's `verify`, which checks all of it; this file makes
 * envelopes (clients) and checks them the same way (tests, and callers who want an early answer).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeCbor, encodeCbor } from '../cbor/index.js';
import { Mcp0Error } from '../errors/index.js';
import { ed25519Sign, ed25519Verify } from '../keys/ed25519.js';
import { ed25519Thumbprint } from '../keys/thumbprint.js';
import type { PrivateKey } from '../keys/types.js';

/** What the signature covers first: a tag no other MCP-ZERO signature starts with. */
export const ENVELOPE_DOMAIN = 'mcp0.rpc/1\n';
/** The envelope version this file writes and reads. */
export const ENVELOPE_VERSION = 1;
/** The nonce length: 128 random bits, so two envelopes never share one by chance. */
export const ENVELOPE_NONCE_BYTES = 16;

/**
 * A decoded envelope.
 * @example
 * const { caller, target, method, deadline } = decodeEnvelope(bytes)
 */
export interface Envelope {
  v: 1;
  /** The caller's key id: the RFC 7638 thumbprint of `key`. */
  caller: string;
  /** The caller's 32-byte Ed25519 public key. */
  key: Uint8Array;
  nonce: Uint8Array;
  /** When it was signed, ms since the epoch. */
  time: number;
  /** When the call must be done by, ms since the epoch. */
  deadline: number;
  /** The agent called, or "" for the node itself. */
  target: string;
  /** The agent's intent, or the node's method (`mcp0.v1.Node/ListAgents`). */
  method: string;
  /** SHA-256 of the request's payload bytes. */
  payloadHash: Uint8Array;
  sig: Uint8Array;
}

/**
 * What a client says to sign: the rest is derived (key, caller, payload hash) or defaulted (time: now,
 * nonce: random).
 * @example
 * signEnvelope({ key, target: 'notes', method: 'remember', payload, deadline: Date.now() + 5000 })
 */
export interface EnvelopeRequest {
  key: PrivateKey;
  target: string;
  method: string;
  payload: Uint8Array;
  deadline: number;
  time?: number;
  nonce?: Uint8Array;
}

const MEMBERS = ['v', 'caller', 'key', 'nonce', 'time', 'deadline', 'target', 'method', 'payloadHash', 'sig'] as const;
const utf8 = new TextEncoder();

/** The bytes the signature covers: the domain tag, then the CBOR of the envelope without `sig`. */
function signedBytes(unsigned: Omit<Envelope, 'sig'>): Uint8Array {
  const body = encodeCbor(unsigned);
  const tag = utf8.encode(ENVELOPE_DOMAIN);
  const out = new Uint8Array(tag.length + body.length);
  out.set(tag);
  out.set(body, tag.length);
  return out;
}

const bad = (message: string, details: Record<string, unknown> = {}) => new Mcp0Error('EINPUT', `rpc envelope: ${message}`, details);

function uint(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad(`"${name}" expected an integer from 0 to 2^53 − 1, got ${typeof v === 'bigint' ? `${v}` : JSON.stringify(v)}`);
  return v;
}

/**
 * A signed envelope's CBOR bytes.
 * @example
 * const envelope = signEnvelope({ key, target: 'notes', method: 'remember', payload, deadline: Date.now() + 5_000 })
 */
export function signEnvelope(request: EnvelopeRequest): Uint8Array {
  const time = request.time ?? Date.now();
  const nonce = request.nonce ?? crypto.getRandomValues(new Uint8Array(ENVELOPE_NONCE_BYTES));
  if (nonce.length !== ENVELOPE_NONCE_BYTES) throw bad(`"nonce" expected ${ENVELOPE_NONCE_BYTES} bytes, got ${nonce.length}`);
  uint(time, 'time');
  uint(request.deadline, 'deadline');
  const unsigned: Omit<Envelope, 'sig'> = {
    v: ENVELOPE_VERSION,
    caller: request.key.kid,
    key: request.key.publicKey.bytes,
    nonce,
    time,
    deadline: request.deadline,
    target: request.target,
    method: request.method,
    payloadHash: sha256(request.payload),
  };
  return encodeCbor({ ...unsigned, sig: ed25519Sign(signedBytes(unsigned), request.key.seed) });
}

/**
 * The envelope in `bytes`, its shape checked (EINPUT naming the member); the signature is not.
 * @example
 * const { caller, method } = decodeEnvelope(bytes)
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const v = decodeCbor(bytes);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw bad('expected a CBOR map');
  // One envelope, one encoding: a float 1.0 for `v`, say, decodes like 1 but is other bytes, so
  // another envelope hash under the same signature. Only the deterministic encoding is accepted.
  if (Buffer.compare(encodeCbor(v), bytes) !== 0) throw bad('not in the deterministic CBOR encoding (RFC 8949 §4.2.1)');
  const extra = Object.keys(v).filter((k) => !(MEMBERS as readonly string[]).includes(k));
  if (extra.length > 0) throw bad(`unknown member ${JSON.stringify(extra[0])}`);
  if (v.v !== ENVELOPE_VERSION) throw bad(`"v" expected ${ENVELOPE_VERSION}, got ${JSON.stringify(typeof v.v === 'bigint' ? `${v.v}` : v.v)}`);
  const bytesOf = (name: string, length: number): Uint8Array => {
    const b = v[name];
    if (!(b instanceof Uint8Array) || b.length !== length)
      throw bad(`"${name}" expected ${length} bytes, got ${b instanceof Uint8Array ? `${b.length} bytes` : typeof b}`);
    return b;
  };
  const text = (name: string): string => {
    const t = v[name];
    if (typeof t !== 'string') throw bad(`"${name}" expected text, got ${typeof t}`);
    return t;
  };
  return {
    v: ENVELOPE_VERSION,
    caller: text('caller'),
    key: bytesOf('key', 32),
    nonce: bytesOf('nonce', ENVELOPE_NONCE_BYTES),
    time: uint(v.time, 'time'),
    deadline: uint(v.deadline, 'deadline'),
    target: text('target'),
    method: text('method'),
    payloadHash: bytesOf('payloadHash', 32),
    sig: bytesOf('sig', 64),
  };
}

/**
 * The envelope in `bytes` when it is signed by the key it names, that key is its caller's, and
 * `payload` is what it covers; else ESIGNATURE (or EINPUT for a malformed envelope). Replay, time
 * and authority are the rpc plugin's to judge: this checks only what the envelope says of itself.
 * @example
 * const envelope = verifyEnvelope(bytes, payload)
 */
export function verifyEnvelope(bytes: Uint8Array, payload: Uint8Array): Envelope {
  const e = decodeEnvelope(bytes);
  const kid = ed25519Thumbprint(e.key);
  if (kid !== e.caller) throw new Mcp0Error('ESIGNATURE', `rpc envelope: "caller" ${e.caller} is not the key id of "key" (${kid})`, { caller: e.caller, kid });
  const { sig, ...unsigned } = e;
  if (!ed25519Verify(sig, signedBytes(unsigned), e.key))
    throw new Mcp0Error('ESIGNATURE', `rpc envelope: the signature of ${e.caller} does not verify`, { caller: e.caller });
  const hash = sha256(payload);
  if (Buffer.compare(hash, e.payloadHash) !== 0)
    throw new Mcp0Error('ESIGNATURE', 'rpc envelope: "payloadHash" is not the SHA-256 of the payload sent with it', { caller: e.caller });
  return e;
}

/**
 * The SHA-256 of an envelope's bytes: what names the call in the callee's trace and its logs.
 * @example
 * const id = hex(envelopeHash(bytes))
 */
export function envelopeHash(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}
