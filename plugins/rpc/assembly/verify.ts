/**
 * The `verify` export: whether a call off the wire may run. The six checks of abi/ROLES.md
 * (`mcp0.rpc@1`) run in its order and the first failure is the answer: shape (EINPUT), signature
 * (ESIGNATURE), time (EPERM stale/future, ETIMEOUT, EINPUT), replay (EPERM replay), authority (EPERM
 * not-authorised), rate (EDENIED rate-limited, with details.retryAfterMs). Nothing is written
 * before the authority check passes, so a caller nobody authorised leaves no trace in kv; from
 * there the nonce is spent, even if the rate check then refuses the call (retry with a new
 * envelope), so a captured envelope can never run after its signer's retry did.
 */
import {
  CborText, KEY_ID_EXPECTED, Kind, Value, clockNow, ed25519Verify, fail, failWith, isKeyId, keyIdOf,
  readInput, respond, sha256, Args,
} from "@mcp0/abi/as";
import { take } from "./buckets";
import { configError, maxDeadlineMs, operatorList, operators, rateFor, replayWindowMs, shown, skewMs } from "./config";
import { Envelope, envelopeError, hex, readEnvelope, signedBytes } from "./envelope";
import { prune, record, seen } from "./replay";

const REQUEST: Array<string> = ["envelope", "payload", "consumer"];
/** Methods longer than this are keyed in the bucket table by their SHA-256, so a key stays small. */
const MAX_KEYED_METHOD: i32 = 64;

/** Byte equality. */
function same(a: Uint8Array, b: Uint8Array): bool {
  return a.length == b.length && memory.compare(a.dataStart, b.dataStart, a.length) == 0;
}

function denied(message: string, retryAfterMs: u64): i32 {
  return fail("EDENIED", "rate-limited: " + message, Value.map().set("retryAfterMs", Value.uint(retryAfterMs)));
}

export function verify(): i32 {
  if (configError !== null) return fail("ESTATE", "mcp0.rpc refuses every call: its config was refused (" + configError!.message + ")");

  // 1. Shape: the request (closed: a member it does not name is a typo), then the envelope.
  const a = Args.from(readInput());
  if (a.error !== null) return a.fail();
  for (let i = 0, n = a.fields.entries.length; i < n; i++) {
    const k = unchecked(a.fields.entries[i]).key;
    if (k.kind != Kind.Text || !REQUEST.includes(changetype<CborText>(k).value)) {
      return fail("EINPUT", "verify: expected only the members envelope, payload, consumer, got " + (k.kind == Kind.Text ? shown(changetype<CborText>(k).value) : "a " + k.typeName + " key"));
    }
  }
  const envelopeBytes = a.bytes("envelope");
  const payload = a.bytes("payload");
  const c = a.value("consumer");
  if (a.error !== null) return a.fail();
  let consumer: string | null = null;
  if (!c.isNull()) {
    const s = c.asText();
    if (s === null || !isKeyId(s)) return fail("EINPUT", '"consumer" ' + KEY_ID_EXPECTED + " or null, got " + (s === null ? c.typeName : shown(s!)));
    consumer = s;
  }
  const read = readEnvelope(envelopeBytes);
  if (read === null) return fail("EINPUT", envelopeError!);
  const e: Envelope = read!;

  // 2. Signature: the caller is the key's id, the key signed this envelope, which covers this payload.
  const kid = keyIdOf(e.key);
  if (!kid.ok) return failWith(kid.error!);
  if (kid.value != e.caller) return fail("ESIGNATURE", 'rpc envelope: "caller" ' + shown(e.caller) + ' is not the key id of "key" (' + kid.value + ")");
  const ok = ed25519Verify(e.key, signedBytes(e), e.sig);
  if (!ok.ok) return failWith(ok.error!);
  if (!ok.value) return fail("ESIGNATURE", "rpc envelope: the signature of " + e.caller + " does not verify (the envelope was changed after signing, or signed by another key)");
  const payloadHash = sha256(payload);
  if (!payloadHash.ok) return failWith(payloadHash.error!);
  if (!same(payloadHash.value, e.payloadHash)) {
    return fail("ESIGNATURE", 'rpc envelope: "payloadHash" expected ' + hex(payloadHash.value) + " (the SHA-256 of the " + payload.length.toString() + "-byte payload sent with it), got " + hex(e.payloadHash));
  }
  const envelopeHash = sha256(envelopeBytes);
  if (!envelopeHash.ok) return failWith(envelopeHash.error!);

  // 3. Time, by this node's clock.
  const clock = clockNow();
  if (!clock.ok) return failWith(clock.error!);
  const now = clock.value;
  if (e.time > now && e.time - now > skewMs) {
    return fail("EPERM", "future: the envelope was signed at " + e.time.toString() + ", " + (e.time - now).toString() + " ms ahead of this node's clock (" + now.toString() + "); expected at most skewMs (" + skewMs.toString() + ") ahead");
  }
  if (now > e.time && now - e.time > replayWindowMs) {
    return fail("EPERM", "stale: the envelope was signed at " + e.time.toString() + ", " + (now - e.time).toString() + " ms before this node's clock (" + now.toString() + "); expected at most replayWindowMs (" + replayWindowMs.toString() + ") before");
  }
  if (e.deadline <= now) {
    return fail("ETIMEOUT", "rpc envelope: the deadline " + e.deadline.toString() + " has passed: expected a time after now (" + now.toString() + "), " + (now - e.deadline).toString() + " ms earlier");
  }
  if (e.deadline > e.time && e.deadline - e.time > maxDeadlineMs) {
    return fail("EINPUT", 'rpc envelope: "deadline" is ' + (e.deadline - e.time).toString() + ' ms after "time"; expected at most maxDeadlineMs (' + maxDeadlineMs.toString() + ")");
  }

  // 4. Replay.
  const s = seen(e.caller, e.nonce, now);
  if (s.error !== null) return failWith(s.error!);
  if (s.time >= 0) {
    return fail("EPERM", "replay: the nonce " + hex(e.nonce) + " of " + e.caller + " was already used, by an envelope signed at " + s.time.toString() + "; expected a nonce not seen in the last replayWindowMs (" + replayWindowMs.toString() + ")");
  }

  // 5. Authority.
  if (e.target.length == 0) {
    if (!operators.includes(e.caller)) {
      return fail("EPERM", "not-authorised: " + e.caller + " called the node's method " + shown(e.method) + "; expected an operator key (config.operators of mcp0.rpc: " + operatorList() + ")");
    }
  } else if (consumer === null) {
    return fail("EPERM", "not-authorised: " + e.caller + " called the agent " + shown(e.target) + ", which is bound to no agreement; expected the consumer of its agreement");
  } else if (consumer != e.caller) {
    return fail("EPERM", "not-authorised: " + e.caller + " called the agent " + shown(e.target) + "; expected the consumer of its agreement, " + consumer!);
  }

  // The nonce is spent from here on.
  const w = record(e.caller, e.nonce, e.time);
  if (w !== null) return failWith(w!);
  const p = prune(now);
  if (p !== null) return failWith(p!);

  // 6. Rate.
  let method = e.method;
  if (method.length > MAX_KEYED_METHOD) {
    const h = sha256(Uint8Array.wrap(String.UTF8.encode(method)));
    if (!h.ok) return failWith(h.error!);
    method = "#" + hex(h.value);
  }
  const rate = rateFor(e.method);
  const t = take(e.caller + "\n" + method, rate, now);
  if (!t.ok) {
    if (t.tableFull) return denied("this node is rate-limiting as many callers and methods as it keeps buckets for, all of them in use; expected a free one in " + t.retryAfterMs.toString() + " ms", t.retryAfterMs);
    return denied(e.caller + " has no token left for " + shown(e.method) + " (" + rate.perSecond.toString() + " a second, burst " + rate.burst.toString() + "); expected one in " + t.retryAfterMs.toString() + " ms", t.retryAfterMs);
  }

  return respond(Value.map()
    .set("caller", Value.text(e.caller))
    .set("target", Value.text(e.target))
    .set("method", Value.text(e.method))
    .set("deadline", Value.uint(e.deadline))
    .set("envelopeHash", Value.bytes(envelopeHash.value))
    .set("tokens", Value.uint(t.tokens)));
}
