/**
 * A test module exposing the guest library to the vitest suites in abi/as/test: the codec
 * (roundtrip, a built sample), request reading (Args), the hook helpers, error JSON, the abort
 * path, and a tour of every host wrapper. It imports the library by its package name, as plugins do, so the build's
 * `--use abort=` path is the real one.
 */
import {
  CborMap, Err, Level, Operation, Value, allow, base64urlDecode, base64urlEncode, blocksGet, blocksHas, blocksPut, call, clockNow, decode, deny, ed25519Verify,
  emit, encode, fail, failWith, isKeyId, keyIdOf, kvDelete, kvGet, kvPut, kvScan, log, netSend, randomBytes, readAdmit, readArgs,
  readInput, readObserve, refCas, refGet, respond, respondBytes, sha256,
} from "@mcp0/abi/as";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

/** Decode the input strictly and re-encode it: deterministic input comes back byte for byte. */
export function roundtrip(): i32 {
  const r = decode(readInput());
  if (!r.ok) return failWith(r.error!);
  return respondBytes(encode(r.value));
}

/** A value built with keys in a scrambled order and every kind, for comparison with cborg. */
export function sample(): i32 {
  const inner = Value.map().set("z", Value.uint(1)).set("", Value.nil()).set("é", Value.bool(true));
  const list = Value.array()
    .push(Value.uint(0)).push(Value.uint(23)).push(Value.uint(24)).push(Value.uint(0xffff)).push(Value.uint(0x10000))
    .push(Value.uint(U64.MAX_VALUE)).push(Value.int(-1)).push(Value.int(-25)).push(Value.int(I64.MIN_VALUE))
    .push(Value.negint(U64.MAX_VALUE)).push(Value.float(1.5)).push(Value.float(-4.1)).push(Value.float(100000.5))
    .push(Value.float(5.960464477539063e-8)).push(Value.float(3.4028234663852886e38)).push(Value.float(1.0e300))
    .push(Value.bytes(new Uint8Array(3))).push(Value.text("ü水🌊")).push(Value.bool(false)).push(Value.nil());
  const m = Value.map()
    .set("b", Value.uint(2))
    .set("aa", inner)
    .set("a", list)
    .setKey(Value.uint(10), Value.text("ten"))
    .setKey(Value.int(-1), Value.text("minus one"))
    .setKey(Value.bytes(new Uint8Array(1)), Value.text("bytes"))
    .set("b", Value.uint(3)); // replaces the first "b"
  return respond(m);
}

/** Reads {s: text, n?: uint (7), b?: bytes, flag: bool} and echoes what it read. */
export function args(): i32 {
  const a = readArgs();
  const s = a.text("s");
  const n = a.uintOr("n", 7);
  const b = a.optBytes("b");
  const flag = a.bool("flag");
  if (a.error !== null) return a.fail();
  return respond(Value.map().set("s", Value.text(s)).set("n", Value.uint(n))
    .set("b", b === null ? Value.nil() : Value.bytes(b)).set("flag", Value.bool(flag)));
}

/** The op as read; `cause` only when one came, so an op without one echoes byte for byte. */
function opValue(op: Operation): CborMap {
  const m = Value.map().set("id", Value.text(op.id)).set("agent", Value.text(op.agent)).set("intent", Value.text(op.intent))
    .set("time", Value.uint(op.time)).set("inputBytes", Value.uint(op.inputBytes));
  const cause = op.cause;
  if (cause !== null) m.set("cause", Value.bytes(cause));
  return m;
}

/** Reads an admit hook's input with readAdmit and echoes {op} as it read it. */
export function hookadmit(): i32 {
  const h = readAdmit();
  if (h.error !== null) return h.fail();
  return respond(Value.map().set("op", opValue(h.op)));
}

/** Reads an observe hook's input with readObserve and echoes {op, outcome}; absent code and message as "". */
export function hookobserve(): i32 {
  const h = readObserve();
  if (h.error !== null) return h.fail();
  const o = h.outcome;
  const outcome = Value.map().set("status", Value.text(o.status)).set("code", Value.text(o.code)).set("message", Value.text(o.message))
    .set("cost", Value.uint(o.cost)).set("wallUs", Value.uint(o.wallUs)).set("bytesIn", Value.uint(o.bytesIn))
    .set("bytesOut", Value.uint(o.bytesOut)).set("inputHash", Value.bytes(o.inputHash)).set("outputHash", Value.bytes(o.outputHash));
  return respond(Value.map().set("op", opValue(h.op)).set("outcome", outcome));
}

/** allow(), twice in one instance: the cached verdict must come out the same both times. */
export function hookallow(): i32 {
  allow();
  return allow();
}

/** Reads {reason: text, retryAfterMs?: int} and answers deny(reason) or deny(reason, retryAfterMs). */
export function hookdeny(): i32 {
  const a = readArgs();
  const reason = a.text("reason");
  const retry = a.has("retryAfterMs") ? a.value("retryAfterMs") : null;
  if (a.error !== null) return a.fail();
  if (retry === null) return deny(reason);
  if (!retry.isInt()) return fail("EINPUT", '"retryAfterMs" expected an integer, got ' + retry.typeName);
  return deny(reason, retry.asInt());
}

/** Fails with code ETEST and the input (UTF-8) as the message, to test the error JSON. */
export function failjson(): i32 {
  const input = readInput();
  return fail("ETEST", String.UTF8.decodeUnsafe(input.dataStart, input.length, false));
}

/** {code, message, details: map} → fails with them, through an Err and failWith. */
export function faildetails(): i32 {
  const a = readArgs();
  const code = a.text("code");
  const message = a.text("message");
  const details = a.map("details");
  if (a.error !== null) return a.fail();
  return failWith(new Err(code, message, details));
}

/** {key: bytes} → the key id keyIdOf gives, or its error. */
export function keyid(): i32 {
  const a = readArgs();
  const key = a.bytes("key");
  if (a.error !== null) return a.fail();
  const kid = keyIdOf(key);
  if (!kid.ok) return failWith(kid.error!);
  return respond(Value.text(kid.value));
}

/** {bytes, text} → {encoded: base64urlEncode(bytes), decoded: base64urlDecode(text) or null, keyId: isKeyId(text)}. */
export function b64(): i32 {
  const a = readArgs();
  const bytes = a.bytes("bytes");
  const text = a.text("text");
  if (a.error !== null) return a.fail();
  const d = base64urlDecode(text);
  return respond(Value.map()
    .set("encoded", Value.text(base64urlEncode(bytes)))
    .set("decoded", d === null ? Value.nil() : Value.bytes(d!))
    .set("keyId", Value.bool(isKeyId(text))));
}

/** An AssemblyScript abort: must reach the host as panic, then trap. */
export function boom(): i32 {
  throw new Error("boom: ü");
}

/** Out-of-bounds array access: the runtime's own abort, same path. */
export function oob(): i32 {
  const a = new Array<i32>(2);
  return a[<i32>readInput().length + 5];
}

/**
 * Calls every host wrapper once. Input: {key, msg, sig} for ed25519. Output: a map of results,
 * each either the value or the error code.
 */
export function tour(): i32 {
  const a = readArgs();
  const key = a.bytes("key");
  const msg = a.bytes("msg");
  const sig = a.bytes("sig");
  if (a.error !== null) return a.fail();
  const out = Value.map();

  log(Level.Info, "tour: ü");
  const now = clockNow();
  out.set("clock", now.ok ? Value.uint(now.value) : Value.text(now.code));
  const rnd = randomBytes(4);
  out.set("random", rnd.ok ? Value.bytes(rnd.value) : Value.text(rnd.code));

  const put = kvPut("t/a", Uint8Array.wrap(String.UTF8.encode("A")));
  out.set("kv_put", put === null ? Value.nil() : Value.text(put.code));
  kvPut("t/b", new Uint8Array(2));
  kvPut("u/c", new Uint8Array(1));
  const got = kvGet("t/a");
  out.set("kv_get", !got.ok ? Value.text(got.code) : got.value === null ? Value.nil() : Value.bytes(got.value!));
  const missing = kvGet("t/none");
  out.set("kv_get_missing", !missing.ok ? Value.text(missing.code) : missing.value === null ? Value.nil() : Value.text("?"));
  const scan = kvScan("t/", 10, "t/a");
  if (scan.ok) {
    const keys = Value.array();
    for (let i = 0; i < scan.value.length; i++) keys.push(Value.text(scan.value[i].key));
    out.set("kv_scan", keys);
  } else out.set("kv_scan", Value.text(scan.code));
  const del = kvDelete("t/a");
  const del2 = kvDelete("t/a");
  out.set("kv_delete", Value.array().push(Value.bool(del.value)).push(Value.bool(del2.value)));
  const denied = kvGet("other/x");
  out.set("kv_denied", Value.text(denied.code));

  const blocks = new Array<Uint8Array>();
  blocks.push(Uint8Array.wrap(String.UTF8.encode("block one")));
  const ids = blocksPut(blocks);
  out.set("blocks_put", ids.ok ? Value.bytes(ids.value[0]) : Value.text(ids.code));
  if (ids.ok) {
    const b = blocksGet(ids.value[0]);
    out.set("blocks_get", b.ok && b.value !== null ? Value.bytes(b.value!) : Value.text(b.code));
    const query = new Array<Uint8Array>();
    query.push(ids.value[0]);
    query.push(new Uint8Array(32));
    const has = blocksHas(query);
    out.set("blocks_has", has.ok ? Value.array().push(Value.bool(has.value[0])).push(Value.bool(has.value[1])) : Value.text(has.code));
    const none = refGet("head");
    out.set("ref_get_none", none.ok && none.value === null ? Value.nil() : Value.text(none.code));
    const v1 = refCas("head", 0, ids.value[0]);
    const stale = refCas("head", 0, ids.value[0]);
    const ref = refGet("head");
    out.set("ref_cas", Value.array().push(Value.uint(v1.value)).push(Value.text(stale.code)));
    out.set("ref_get", ref.ok && ref.value !== null ? Value.uint(ref.value!.version) : Value.text(ref.code));
  }

  const c = call("test.echo", "echo", Uint8Array.wrap(String.UTF8.encode("hi")));
  out.set("call", c.ok ? Value.bytes(c.value) : Value.text(c.code));
  const c2 = call("test.nobody", "x", new Uint8Array(0));
  out.set("call_missing", c2.ok ? Value.text("?") : Value.text(c2.code));
  const h = sha256(Uint8Array.wrap(String.UTF8.encode("abc")));
  out.set("sha256", h.ok ? Value.bytes(h.value) : Value.text(h.code));
  const v = ed25519Verify(key, msg, sig);
  const bad = ed25519Verify(key, Uint8Array.wrap(String.UTF8.encode("other")), sig);
  out.set("ed25519", Value.array().push(Value.bool(v.value)).push(Value.bool(bad.value)));
  const sent = netSend("peer-1", new Uint8Array(3));
  out.set("net_send", sent === null ? Value.nil() : Value.text(sent.code));
  const ev = emit("tour.done", Value.map().set("n", Value.uint(1)));
  out.set("emit", ev === null ? Value.nil() : Value.text(ev.code));
  return respond(out);
}
