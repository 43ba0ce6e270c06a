/**
 * Typed wrappers for the host functions of `mcp0:abi/v1`. Every import is `(request: i64) -> i64`:
 * a handle holding a CBOR request map in, a handle holding `{ok: value}` or
 * `{err: {code, message}}` out. Each wrapper returns a Result (or `Err | null` when there is no
 * value) so callers branch on the code, e.g. EPERM without a grant, ECONFLICT from ref_cas.
 */
import { CborArray, CborMap, Value, encode } from "./cbor";
import { decode } from "./decode";
import { free, fromHandle, toHandle } from "./extism";
import { Err, Result, failure, success } from "./result";

// @ts-ignore: decorator
@external("mcp0:abi/v1", "log") declare function host_log(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "panic") declare function host_panic(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "clock_now") declare function host_clock_now(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "random_bytes") declare function host_random_bytes(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "kv_get") declare function host_kv_get(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "kv_put") declare function host_kv_put(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "kv_delete") declare function host_kv_delete(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "kv_scan") declare function host_kv_scan(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "blocks_put") declare function host_blocks_put(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "blocks_get") declare function host_blocks_get(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "blocks_has") declare function host_blocks_has(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "ref_get") declare function host_ref_get(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "ref_cas") declare function host_ref_cas(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "call") declare function host_call(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "crypto_sha256") declare function host_crypto_sha256(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "crypto_ed25519_verify") declare function host_crypto_ed25519_verify(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "net_send") declare function host_net_send(req: u64): u64;
// @ts-ignore: decorator
@external("mcp0:abi/v1", "emit") declare function host_emit(req: u64): u64;

/** Log levels of `log`. */
export const enum Level { Debug, Info, Warn, Error }

/** A kv_scan entry. */
export class KvEntry {
  constructor(public key: string, public value: Uint8Array) {}
}

/** A ref: the root block id and its version (versions start at 1; 0 means absent in ref_cas). */
export class Ref {
  constructor(public root: Uint8Array, public version: u64) {}
}

// ---- transport ----

/** Encode a request into a handle, call the import, free the request, decode the reply. */
function send(fn: (req: u64) => u64, name: string, req: CborMap): Result<Value> {
  const h = toHandle(encode(req));
  const r = fn(h);
  free(h);
  if (r == 0) return failure<Value>(new Err("EINTERNAL", name + ": the host returned no reply"), Value.nil());
  const bytes = fromHandle(r);
  free(r);
  const d = decode(bytes);
  if (!d.ok) return failure<Value>(bad(name, d.error!.message), Value.nil());
  const m = d.value.asMap();
  if (m === null) return failure<Value>(bad(name, "expected a map, got " + d.value.typeName), Value.nil());
  const ok = m.get("ok");
  if (ok !== null) return success<Value>(ok);
  const e = m.getMap("err");
  if (e === null) return failure<Value>(bad(name, "neither ok nor err"), Value.nil());
  const code = e.getText("code");
  const message = e.getText("message");
  return failure<Value>(new Err(code === null ? "EINTERNAL" : code, message === null ? "" : message), Value.nil());
}

function bad(name: string, why: string): Err {
  return new Err("EINTERNAL", name + ": malformed host reply: " + why);
}

function wrongType(name: string, expected: string, got: Value): Err {
  return bad(name, "expected " + expected + ", got " + got.typeName);
}

function toNull(r: Result<Value>, name: string): Err | null {
  if (!r.ok) return r.error;
  if (r.value.isNull()) return null;
  return wrongType(name, "null", r.value);
}

function toUint(r: Result<Value>, name: string): Result<u64> {
  if (!r.ok) return failure<u64>(r.error!, 0);
  if (!r.value.isUint()) return failure<u64>(wrongType(name, "uint", r.value), 0);
  return success<u64>(r.value.asUint());
}

function toBool(r: Result<Value>, name: string): Result<bool> {
  if (!r.ok) return failure<bool>(r.error!, false);
  if (!r.value.isBool()) return failure<bool>(wrongType(name, "bool", r.value), false);
  return success<bool>(r.value.asBool());
}

function toBytes(r: Result<Value>, name: string): Result<Uint8Array> {
  if (!r.ok) return failure<Uint8Array>(r.error!, new Uint8Array(0));
  const b = r.value.asBytes();
  if (b === null) return failure<Uint8Array>(wrongType(name, "bytes", r.value), new Uint8Array(0));
  return success<Uint8Array>(b);
}

function toBytesOrNull(r: Result<Value>, name: string): Result<Uint8Array | null> {
  if (!r.ok) return failure<Uint8Array | null>(r.error!, null);
  if (r.value.isNull()) return success<Uint8Array | null>(null);
  const b = r.value.asBytes();
  if (b === null) return failure<Uint8Array | null>(wrongType(name, "bytes or null", r.value), null);
  return success<Uint8Array | null>(b);
}

function toArray(r: Result<Value>, name: string): Result<CborArray> {
  if (!r.ok) return failure<CborArray>(r.error!, Value.array());
  const a = r.value.asArray();
  if (a === null) return failure<CborArray>(wrongType(name, "array", r.value), Value.array());
  return success<CborArray>(a);
}

function bytesArray(items: Array<Uint8Array>): Value {
  const a = Value.array();
  for (let i = 0, n = items.length; i < n; i++) a.push(Value.bytes(unchecked(items[i])));
  return a;
}

// ---- the v1 set ----

/** Log a line at a level. Logging never fails the caller; a host error is dropped. */
export function log(level: Level, msg: string): void {
  const name = level == Level.Debug ? "debug" : level == Level.Info ? "info" : level == Level.Warn ? "warn" : "error";
  send(host_log, "log", Value.map().set("level", Value.text(name)).set("msg", Value.text(msg)));
}

/** Report a guest abort to the host; the caller traps right after. */
export function panic(message: string, file: string, line: u32, column: u32): void {
  send(host_panic, "panic", Value.map()
    .set("message", Value.text(message)).set("file", Value.text(file))
    .set("line", Value.uint(line)).set("column", Value.uint(column)));
}

/** Milliseconds since the epoch; inside an operation, the operation's logical time. */
export function clockNow(): Result<u64> {
  return toUint(send(host_clock_now, "clock_now", Value.map()), "clock_now");
}

/** `n` random bytes (n ≤ 65536); seeded from the operation id inside an operation. */
export function randomBytes(n: u32): Result<Uint8Array> {
  return toBytes(send(host_random_bytes, "random_bytes", Value.map().set("n", Value.uint(n))), "random_bytes");
}

/** The value under `key`, or null when there is none. */
export function kvGet(key: string): Result<Uint8Array | null> {
  return toBytesOrNull(send(host_kv_get, "kv_get", Value.map().set("key", Value.text(key))), "kv_get");
}

export function kvPut(key: string, value: Uint8Array): Err | null {
  return toNull(send(host_kv_put, "kv_put", Value.map().set("key", Value.text(key)).set("value", Value.bytes(value))), "kv_put");
}

/** True when the key existed. */
export function kvDelete(key: string): Result<bool> {
  return toBool(send(host_kv_delete, "kv_delete", Value.map().set("key", Value.text(key))), "kv_delete");
}

/** Up to `limit` entries under `prefix`, in key order, starting after the key `after` (null: from the start). */
export function kvScan(prefix: string, limit: u32, after: string | null = null): Result<Array<KvEntry>> {
  const req = Value.map().set("prefix", Value.text(prefix)).set("limit", Value.uint(limit))
    .set("after", after === null ? Value.nil() : Value.text(after));
  const r = toArray(send(host_kv_scan, "kv_scan", req), "kv_scan");
  const out = new Array<KvEntry>();
  if (!r.ok) return failure<Array<KvEntry>>(r.error!, out);
  const items = r.value.items;
  for (let i = 0, n = items.length; i < n; i++) {
    const entry = scanEntry(unchecked(items[i]));
    if (entry === null) return failure<Array<KvEntry>>(bad("kv_scan", "entries must be [text, bytes]"), new Array<KvEntry>());
    out.push(entry);
  }
  return success<Array<KvEntry>>(out);
}

function scanEntry(v: Value): KvEntry | null {
  const pair = v.asArray();
  if (pair === null || pair.length != 2) return null;
  const key = unchecked(pair.items[0]).asText();
  const value = unchecked(pair.items[1]).asBytes();
  if (key === null || value === null) return null;
  return new KvEntry(key, value);
}

/** Store blocks; returns their ids (sha256), in order. */
export function blocksPut(blocks: Array<Uint8Array>): Result<Array<Uint8Array>> {
  const r = toArray(send(host_blocks_put, "blocks_put", Value.map().set("blocks", bytesArray(blocks))), "blocks_put");
  const out = new Array<Uint8Array>();
  if (!r.ok) return failure<Array<Uint8Array>>(r.error!, out);
  for (let i = 0, n = r.value.length; i < n; i++) {
    const b = unchecked(r.value.items[i]).asBytes();
    if (b === null) return failure<Array<Uint8Array>>(bad("blocks_put", "ids must be bytes"), new Array<Uint8Array>());
    out.push(b);
  }
  return success<Array<Uint8Array>>(out);
}

/** A block by id, or null when the store has none. */
export function blocksGet(id: Uint8Array): Result<Uint8Array | null> {
  return toBytesOrNull(send(host_blocks_get, "blocks_get", Value.map().set("id", Value.bytes(id))), "blocks_get");
}

/** For each id, whether the store has it. */
export function blocksHas(ids: Array<Uint8Array>): Result<Array<bool>> {
  const r = toArray(send(host_blocks_has, "blocks_has", Value.map().set("ids", bytesArray(ids))), "blocks_has");
  const out = new Array<bool>();
  if (!r.ok) return failure<Array<bool>>(r.error!, out);
  for (let i = 0, n = r.value.length; i < n; i++) {
    const v = unchecked(r.value.items[i]);
    if (!v.isBool()) return failure<Array<bool>>(bad("blocks_has", "answers must be bools"), new Array<bool>());
    out.push(v.asBool());
  }
  return success<Array<bool>>(out);
}

/** A ref, or null when it does not exist. */
export function refGet(name: string): Result<Ref | null> {
  const r = send(host_ref_get, "ref_get", Value.map().set("name", Value.text(name)));
  if (!r.ok) return failure<Ref | null>(r.error!, null);
  if (r.value.isNull()) return success<Ref | null>(null);
  const m = r.value.asMap();
  if (m !== null) {
    const root = m.getBytes("root");
    const version = m.get("version");
    if (root !== null && version !== null && version.isUint()) return success<Ref | null>(new Ref(root, version.asUint()));
  }
  return failure<Ref | null>(bad("ref_get", "expected {root: bytes, version: uint} or null"), null);
}

/** Move a ref from version `expect` (0: absent) to `root`; the new version, or ECONFLICT. */
export function refCas(name: string, expect: u64, root: Uint8Array): Result<u64> {
  const r = send(host_ref_cas, "ref_cas", Value.map()
    .set("name", Value.text(name)).set("expect", Value.uint(expect)).set("root", Value.bytes(root)));
  if (!r.ok) return failure<u64>(r.error!, 0);
  const m = r.value.asMap();
  if (m !== null) {
    const version = m.get("version");
    if (version !== null && version.isUint()) return success<u64>(version.asUint());
  }
  return failure<u64>(bad("ref_cas", "expected {version: uint}"), 0);
}

/** Call another plugin's export with raw input bytes; its output bytes. */
export function call(target: string, exportName: string, input: Uint8Array): Result<Uint8Array> {
  return toBytes(send(host_call, "call", Value.map()
    .set("target", Value.text(target)).set("export", Value.text(exportName)).set("input", Value.bytes(input))), "call");
}

export function sha256(data: Uint8Array): Result<Uint8Array> {
  return toBytes(send(host_crypto_sha256, "crypto_sha256", Value.map().set("data", Value.bytes(data))), "crypto_sha256");
}

/** True when `sig` is a valid Ed25519 signature of `msg` by `key`. */
export function ed25519Verify(key: Uint8Array, msg: Uint8Array, sig: Uint8Array): Result<bool> {
  return toBool(send(host_crypto_ed25519_verify, "crypto_ed25519_verify", Value.map()
    .set("key", Value.bytes(key)).set("msg", Value.bytes(msg)).set("sig", Value.bytes(sig))), "crypto_ed25519_verify");
}

export function netSend(peer: string, payload: Uint8Array): Err | null {
  return toNull(send(host_net_send, "net_send", Value.map().set("peer", Value.text(peer)).set("payload", Value.bytes(payload))), "net_send");
}

/** Publish an event with any CBOR data. */
export function emit(topic: string, data: Value): Err | null {
  return toNull(send(host_emit, "emit", Value.map().set("topic", Value.text(topic)).set("data", data)), "emit");
}
