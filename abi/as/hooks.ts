/**
 * The pipeline hooks' two ends (ABI.md §5): reading what `mcp0_admit` and `mcp0_observe` are
 * given, checked member by member, and answering an admit with a verdict. Every hook used to parse
 * its input by hand, each a little differently; here it is checked once, to the table in ABI.md,
 * and the first problem comes back as EINPUT naming the member (`op."agent" expected text, got uint`).
 * Members the table does not list are ignored: a later v1.x may add some, and old hooks must keep
 * reading what it sends.
 * @example
 * export function mcp0_observe(): i32 {
 *   const h = readObserve();
 *   if (h.error !== null) return h.fail();
 *   if (h.outcome.status == "ok") count(h.op.agent, h.outcome.cost);
 *   return 0;
 * }
 */
import { Args } from "./args";
import { CborMap, Kind, Value, encode } from "./cbor";
import { fail } from "./errors";
import { readInput, setOutput } from "./extism";

/** The length of `inputHash`, `outputHash` and `cause`: SHA-256. */
export const HOOK_HASH_BYTES: i32 = 32;

/** The operation a hook is told about: `op` of the hook input. */
export class Operation {
  /** The operation's id (1 to 128 characters; the host checks). */
  id: string = "";
  /** The agent it runs on. */
  agent: string = "";
  /** The export of the agent it calls. */
  intent: string = "";
  /** Its logical time, ms since the epoch: decide by this, never by the clock, so replays agree. */
  time: u64 = 0;
  /** The length of its input. */
  inputBytes: u64 = 0;
  /**
   * What caused it (v1.2), 32 bytes: for a signed rpc request, the SHA-256 of its envelope. null
   * when the host sent none (a local call, or a host before 1.2).
   */
  cause: Uint8Array | null = null;
}

/** What came of an operation: `outcome` of the observe input. */
export class Outcome {
  /** "ok", "error", or "denied" (v1.1: a later admit hook refused what this one admitted). */
  status: string = "";
  /** The error code of a failed or denied operation; "" when absent. */
  code: string = "";
  /** The error message; "" when absent. */
  message: string = "";
  /** Cost units used (0 for a denied operation). */
  cost: u64 = 0;
  wallUs: u64 = 0;
  bytesIn: u64 = 0;
  bytesOut: u64 = 0;
  /** SHA-256 of the input, taken before the export ran. */
  inputHash: Uint8Array = new Uint8Array(0);
  /** SHA-256 of the output (of empty output when it failed or was denied). */
  outputHash: Uint8Array = new Uint8Array(0);
}

/** An admit hook's input, read; check `error` before trusting `op`. */
export class AdmitInput {
  /** The first problem, worded "what was expected, what came", or null. */
  error: string | null = null;
  op: Operation = new Operation();

  /** Fail the call with EINPUT and the first problem; returns 1. */
  fail(): i32 {
    const e = this.error;
    return fail("EINPUT", e === null ? "invalid hook input" : e);
  }
}

/** An observe hook's input, read; check `error` before trusting `op` and `outcome`. */
export class ObserveInput extends AdmitInput {
  outcome: Outcome = new Outcome();
}

/**
 * Read `{op: {id, agent, intent, time, inputBytes, cause?}}` from bytes. Never traps; on a problem
 * the fields hold what was read so far and defaults.
 * @example
 * const h = parseAdmit(bytes); if (h.error !== null) return h.fail();
 */
export function parseAdmit(bytes: Uint8Array): AdmitInput {
  const h = new AdmitInput();
  const a = Args.from(bytes);
  const op = a.map("op");
  if (a.error !== null) { h.error = a.error; return h; }
  h.error = readOperation(op, h.op);
  return h;
}

/**
 * Read `{op, outcome: {status, code?, message?, cost, wallUs, bytesIn, bytesOut, inputHash,
 * outputHash}}` from bytes. `status` must be ok, error or denied; the hashes 32 bytes each.
 * @example
 * const h = parseObserve(bytes); if (h.error !== null) return h.fail();
 */
export function parseObserve(bytes: Uint8Array): ObserveInput {
  const h = new ObserveInput();
  const a = Args.from(bytes);
  const op = a.map("op");
  const outcome = a.map("outcome");
  if (a.error !== null) { h.error = a.error; return h; }
  h.error = readOperation(op, h.op);
  if (h.error === null) h.error = readOutcome(outcome, h.outcome);
  return h;
}

/**
 * The admit hook's input, read from the call's input.
 * @example
 * const h = readAdmit(); if (h.error !== null) return h.fail();
 * return h.op.intent == "delete" ? deny("not-permitted: delete") : allow();
 */
export function readAdmit(): AdmitInput {
  return parseAdmit(readInput());
}

/**
 * The observe hook's input, read from the call's input.
 * @example
 * const h = readObserve(); if (h.error !== null) return h.fail();
 * if (h.outcome.status == "denied") return release(h.op.id);
 */
export function readObserve(): ObserveInput {
  return parseObserve(readInput());
}

function readOperation(m: CborMap, op: Operation): string | null {
  const a = new Args(m);
  op.id = a.text("id");
  op.agent = a.text("agent");
  op.intent = a.text("intent");
  op.time = a.uint("time");
  op.inputBytes = a.uint("inputBytes");
  if (a.error !== null) return "op." + a.error!;
  // Optional (v1.2): absent means no cause. Present, it must be a SHA-256: a hook that records it
  // binds it into a hash chain, so null or a hash of another length is refused, not taken as none.
  const cause = m.get("cause");
  if (cause === null) return null;
  if (cause.kind != Kind.Bytes) return 'op."cause" expected bytes, got ' + cause.typeName;
  const bytes = cause.asBytes()!;
  if (bytes.length != HOOK_HASH_BYTES) return 'op."cause" expected ' + HOOK_HASH_BYTES.toString() + " bytes, got " + bytes.length.toString();
  op.cause = bytes;
  return null;
}

function readOutcome(m: CborMap, o: Outcome): string | null {
  const a = new Args(m);
  o.status = a.text("status");
  // A status read as text but not one of the three is the problem at that member, before later ones.
  if (a.error === null && o.status != "ok" && o.status != "error" && o.status != "denied") {
    return 'outcome."status" expected "ok", "error" or "denied", got "' + o.status + '"';
  }
  o.code = a.textOr("code", "");
  o.message = a.textOr("message", "");
  o.cost = a.uint("cost");
  o.wallUs = a.uint("wallUs");
  o.bytesIn = a.uint("bytesIn");
  o.bytesOut = a.uint("bytesOut");
  o.inputHash = a.bytes("inputHash");
  o.outputHash = a.bytes("outputHash");
  if (a.error !== null) return "outcome." + a.error!;
  // A hash of another length is not a SHA-256; a hook that records it would record garbage.
  if (o.inputHash.length != HOOK_HASH_BYTES) return hashProblem("inputHash", o.inputHash.length);
  if (o.outputHash.length != HOOK_HASH_BYTES) return hashProblem("outputHash", o.outputHash.length);
  return null;
}

function hashProblem(member: string, got: i32): string {
  return 'outcome."' + member + '" expected ' + HOOK_HASH_BYTES.toString() + " bytes, got " + got.toString();
}

// Every admitted operation gets the same 8 bytes: encode them once, not per call.
const ALLOW = encode(Value.map().set("allow", Value.bool(true)));

/**
 * Admit the operation: outputs `{allow: true}` and returns 0.
 * @example
 * if (permitted) return allow();
 */
export function allow(): i32 {
  setOutput(ALLOW);
  return 0;
}

/**
 * Deny the operation: outputs `{allow: false, reason, retryAfterMs?}` and returns 0 (a denial is
 * an answer, not a failure). `retryAfterMs` is sent only when ≥ 0: when waiting that long may
 * help. Start `reason` with a stable token callers can match (`quota-exhausted: …`).
 * @example
 * return deny("quota-exhausted: 10 of 10 calls used", 60000);
 */
export function deny(reason: string, retryAfterMs: i64 = -1): i32 {
  const v = Value.map().set("allow", Value.bool(false)).set("reason", Value.text(reason));
  if (retryAfterMs >= 0) v.set("retryAfterMs", Value.int(retryAfterMs));
  setOutput(encode(v));
  return 0;
}
