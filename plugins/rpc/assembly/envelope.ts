/**
 * Reading the signed request envelope of `mcp0.rpc@1` (abi/ROLES.md) from its CBOR bytes, strictly,
 * as `decodeEnvelope` in @mcp0/abi does: exactly the ten members, each with its type and length, in
 * the ABI's deterministic CBOR (the decoder refuses anything else). And the bytes its signature
 * covers: the domain tag, then the CBOR of the map without `sig`, rebuilt here from what was
 * decoded, never taken from the host or the caller.
 */
import { CborMap, CborText, Kind, MapEntry, Value, decode, encode } from "@mcp0/abi/as";
import { shown } from "./config";

/** What the signature covers first: a tag no other MCP-ZERO signature starts with. */
export const ENVELOPE_DOMAIN = "mcp0.rpc/1\n";
/** The envelope version this plugin reads. */
export const ENVELOPE_VERSION: u64 = 1;
export const NONCE_BYTES: i32 = 16;
/** Ed25519 public keys, SHA-256 hashes and Ed25519 signatures. */
export const KEY_BYTES: i32 = 32;
export const HASH_BYTES: i32 = 32;
export const SIG_BYTES: i32 = 64;
/** JSON's largest exact integer: times past it could not be read by every client the same way. */
export const MAX_SAFE: u64 = 9007199254740991;

const MEMBERS: Array<string> = ["v", "caller", "key", "nonce", "time", "deadline", "target", "method", "payloadHash", "sig"];

/** A decoded envelope. */
export class Envelope {
  caller: string = "";
  key: Uint8Array = new Uint8Array(0);
  nonce: Uint8Array = new Uint8Array(0);
  time: u64 = 0;
  deadline: u64 = 0;
  target: string = "";
  method: string = "";
  payloadHash: Uint8Array = new Uint8Array(0);
  sig: Uint8Array = new Uint8Array(0);
  /** The decoded map, for the signed bytes. */
  map: CborMap = Value.map();
}

/** Why the last readEnvelope refused its input, or null. */
export let envelopeError: string | null = null;

function refuse(message: string): Envelope | null {
  envelopeError = "rpc envelope: " + message;
  return null;
}

/** What came, for a message: an integer as its value, text quoted, else its kind. */
function got(v: Value): string {
  if (v.kind == Kind.Uint) return v.asUint().toString();
  if (v.kind == Kind.Negint && v.isInt()) return v.asInt().toString();
  const s = v.asText();
  if (s !== null) return shown(s);
  const b = v.asBytes();
  if (b !== null) return b.length.toString() + " bytes";
  return v.typeName;
}

/**
 * The envelope in `bytes`, or null with `envelopeError` saying which member is wrong (EINPUT). The
 * signature is not checked here.
 */
export function readEnvelope(bytes: Uint8Array): Envelope | null {
  envelopeError = null;
  const d = decode(bytes);
  if (!d.ok) return refuse(d.error!.message);
  const m = d.value.asMap();
  if (m === null) return refuse("expected a CBOR map, got " + d.value.typeName);
  for (let i = 0, n = m.entries.length; i < n; i++) {
    const k = unchecked(m.entries[i]).key;
    if (k.kind != Kind.Text) return refuse("unknown member: a " + k.typeName + " key");
    const name = changetype<CborText>(k).value;
    if (!MEMBERS.includes(name)) return refuse("unknown member " + shown(name));
  }
  const e = new Envelope();
  e.map = m;

  const v = m.get("v");
  if (v === null) return refuse('"v" is missing, expected 1');
  if (v.kind != Kind.Uint || v.asUint() != ENVELOPE_VERSION) return refuse('"v" expected 1, got ' + got(v));
  const caller = text(m, "caller");
  if (caller === null) return null;
  e.caller = caller!;
  const key = bytesOf(m, "key", KEY_BYTES);
  if (key === null) return null;
  e.key = key!;
  const nonce = bytesOf(m, "nonce", NONCE_BYTES);
  if (nonce === null) return null;
  e.nonce = nonce!;
  if (!uint(m, "time")) return null;
  e.time = m.get("time")!.asUint();
  if (!uint(m, "deadline")) return null;
  e.deadline = m.get("deadline")!.asUint();
  const target = text(m, "target");
  if (target === null) return null;
  e.target = target!;
  const method = text(m, "method");
  if (method === null) return null;
  e.method = method!;
  const payloadHash = bytesOf(m, "payloadHash", HASH_BYTES);
  if (payloadHash === null) return null;
  e.payloadHash = payloadHash!;
  const sig = bytesOf(m, "sig", SIG_BYTES);
  if (sig === null) return null;
  e.sig = sig!;
  return e;
}

function text(m: CborMap, name: string): string | null {
  const v = m.get(name);
  if (v === null) { refuse('"' + name + '" is missing, expected text'); return null; }
  const s = v.asText();
  if (s === null) { refuse('"' + name + '" expected text, got ' + got(v)); return null; }
  return s;
}

function bytesOf(m: CborMap, name: string, length: i32): Uint8Array | null {
  const v = m.get(name);
  if (v === null) { refuse('"' + name + '" is missing, expected ' + length.toString() + " bytes"); return null; }
  const b = v.asBytes();
  if (b === null || b.length != length) { refuse('"' + name + '" expected ' + length.toString() + " bytes, got " + got(v)); return null; }
  return b;
}

function uint(m: CborMap, name: string): bool {
  const v = m.get(name);
  if (v === null) { refuse('"' + name + '" is missing, expected an integer from 0 to 2^53 − 1'); return false; }
  if (v.kind != Kind.Uint || v.asUint() > MAX_SAFE) { refuse('"' + name + '" expected an integer from 0 to 2^53 − 1, got ' + got(v)); return false; }
  return true;
}

/**
 * The bytes the signature covers: the UTF-8 domain tag, then the deterministic CBOR of the
 * envelope's map without `sig` (the encoder sorts the members; the decoder already refused any
 * other order, so these are the bytes the signer encoded).
 */
export function signedBytes(e: Envelope): Uint8Array {
  const unsigned = Value.map();
  const entries = e.map.entries;
  for (let i = 0, n = entries.length; i < n; i++) {
    const entry = unchecked(entries[i]);
    if (changetype<CborText>(entry.key).value != "sig") unsigned.entries.push(new MapEntry(entry.key, entry.value, entry.keyBytes));
  }
  const body = encode(unsigned);
  const tag = String.UTF8.encode(ENVELOPE_DOMAIN);
  const out = new Uint8Array(tag.byteLength + body.length);
  memory.copy(out.dataStart, changetype<usize>(tag), tag.byteLength);
  memory.copy(out.dataStart + <usize>tag.byteLength, body.dataStart, body.length);
  return out;
}

/** Lowercase hex of bytes, for messages and kv keys. */
export function hex(b: Uint8Array): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let i = 0, n = b.length; i < n; i++) {
    const x = <i32>b[i];
    out += digits.charAt(x >> 4) + digits.charAt(x & 15);
  }
  return out;
}
