/**
 * The trace chain: an event's field encoding and hash, and one chain step. Exactly as README.md
 * ("Event hash", "Chain") describes it; test/chain.test.ts recomputes both with circomlibjs.
 *
 *   strField(s) : b = UTF-8 bytes of s, k = ceil(|b| / 31), c_j = chunk j (31 bytes, the last one
 *                 shorter) read as a big-endian integer; h_0 = |b|, h_j = Poseidon(h_{j-1}, c_j);
 *                 strField(s) = h_k.
 *   v = 1 without a cause, 2 with one (the encoding version)
 *   a = Poseidon(v, seq, strField(agent), strField(intent))
 *   b = Poseidon(inputHash[0..16], inputHash[16..32], outputHash[0..16], outputHash[16..32])
 *   c = Poseidon(status (ok 0, error 1), cost, logicalTime)
 *   version 1: eventHash = Poseidon(a, b, c)
 *   version 2: d = Poseidon(cause[0..16], cause[16..32]); eventHash = Poseidon(a, b, c, d)
 *   head_i = Poseidon(head_{i-1}, eventHash_i, min(cost_i, 2^32 − 1)),  head_{-1} = 0
 */
import { Value, CborMap } from "@mcp0/abi/as";
import { fromBytesBE, fromDecimal, toDecimal } from "./field/convert";
import { copy, zero } from "./field/arith";
import { FR_BYTES } from "./generated/params";
import { poseidon as hash } from "./poseidon/permutation";

/** The encoding version of an event without a cause: the first input of `a`. */
export const ENCODING_VERSION: u64 = 1;
/** The encoding version of an event with a cause (ABI 1.2 `op.cause`). */
export const ENCODING_VERSION_CAUSE: u64 = 2;
/** The length of a cause: a SHA-256 (for rpc, of the request's envelope). */
export const CAUSE_BYTES: i32 = 32;
/** The largest cost the chain step takes (the circuit range-checks costs to 32 bits). */
export const MAX_CHAIN_COST: u64 = 0xffffffff;

/** One operation as the trace records it. */
export class TraceEvent {
  seq: u64 = 0;
  agent: string = "";
  intent: string = "";
  inputHash: Uint8Array = new Uint8Array(32);
  outputHash: Uint8Array = new Uint8Array(32);
  /** 0 = ok, 1 = error. */
  status: u32 = 0;
  cost: u64 = 0;
  logicalTime: u64 = 0;
  /** What caused the operation, 32 bytes, or null: an event with one is encoding version 2. */
  cause: Uint8Array | null = null;

  toValue(): Value {
    const m = Value.map()
      .set("seq", Value.uint(this.seq))
      .set("agent", Value.text(this.agent))
      .set("intent", Value.text(this.intent))
      .set("inputHash", Value.bytes(this.inputHash))
      .set("outputHash", Value.bytes(this.outputHash))
      .set("status", Value.text(this.status == 0 ? "ok" : "error"))
      .set("cost", Value.uint(this.cost))
      .set("logicalTime", Value.uint(this.logicalTime));
    // Without a cause the event is version 1, byte for byte what 0.2 stored: no member at all.
    const cause = this.cause;
    if (cause !== null) m.set("cause", Value.bytes(cause));
    return m;
  }
}

/** A stored event read back strictly; `error` says what is wrong, else null. */
export class ParsedEvent {
  constructor(public event: TraceEvent, public error: string | null) {}
}

function uintField(m: CborMap, key: string, ev: ParsedEvent): u64 {
  const v = m.get(key);
  if (v === null || !v.isUint()) {
    if (ev.error === null) ev.error = 'event "' + key + '": expected uint, got ' + (v === null ? "nothing" : v.typeName);
    return 0;
  }
  return v.asUint();
}

function textField(m: CborMap, key: string, ev: ParsedEvent): string {
  const s = m.getText(key);
  if (s === null) {
    if (ev.error === null) ev.error = 'event "' + key + '": expected text';
    return "";
  }
  return s;
}

function hashField(m: CborMap, key: string, ev: ParsedEvent): Uint8Array {
  const b = m.getBytes(key);
  if (b === null || b.length != 32) {
    if (ev.error === null) ev.error = 'event "' + key + '": expected 32 bytes';
    return new Uint8Array(32);
  }
  return b;
}

/** Read an event map as `TraceEvent.toValue` writes it. */
export function parseEvent(v: Value | null): ParsedEvent {
  const r = new ParsedEvent(new TraceEvent(), null);
  if (v === null || v.asMap() === null) {
    r.error = "event: expected a map";
    return r;
  }
  const m = v.asMap()!;
  const e = r.event;
  e.seq = uintField(m, "seq", r);
  e.agent = textField(m, "agent", r);
  e.intent = textField(m, "intent", r);
  e.inputHash = hashField(m, "inputHash", r);
  e.outputHash = hashField(m, "outputHash", r);
  const status = textField(m, "status", r);
  if (status == "ok") e.status = 0;
  else if (status == "error") e.status = 1;
  else if (r.error === null) r.error = 'event "status": expected "ok" or "error"';
  e.cost = uintField(m, "cost", r);
  e.logicalTime = uintField(m, "logicalTime", r);
  // Optional: absent is version 1; present (version 2) it must be 32 bytes, and null is no cause
  // of any length, so it is refused rather than read as absent.
  const cause = m.get("cause");
  if (cause !== null) {
    const b = cause.asBytes();
    if (b === null || b.length != CAUSE_BYTES) {
      if (r.error === null) r.error = 'event "cause": expected ' + CAUSE_BYTES.toString() + " bytes, got " + (b === null ? cause.typeName : b.length.toString() + " bytes");
    } else {
      e.cause = b;
    }
  }
  const fields = cause === null ? 8 : 9;
  if (r.error === null && m.size != fields) {
    r.error = "event: expected exactly " + fields.toString() + " fields (" + (cause === null ? "version 1, no cause" : "version 2, with a cause") + "), got " + m.size.toString();
  }
  return r;
}

// ---- field elements (Montgomery form, FR_BYTES each) ----

const BE: usize = memory.data(32);
const IN: usize = memory.data(FR_BYTES * 4);
const ABC: usize = memory.data(FR_BYTES * 4);
const TMP: usize = memory.data(FR_BYTES);

// @ts-ignore: decorator
@inline function el(base: usize, i: i32): usize {
  return base + <usize>i * FR_BYTES;
}

/** r = v. */
function setU64(r: usize, v: u64): void {
  memory.fill(BE, 0, 24);
  store<u64>(BE + 24, bswap<u64>(v));
  fromBytesBE(r, BE);
}

/** r = the n ≤ 31 bytes at src as a big-endian integer. */
function setBytes(r: usize, src: usize, n: i32): void {
  memory.fill(BE, 0, 32 - n);
  memory.copy(BE + 32 - <usize>n, src, n);
  fromBytesBE(r, BE);
}

/** r = strField(s) (see the top of the file). r must not be IN or IN + FR_BYTES. */
function strField(r: usize, s: string): void {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  const n = b.length;
  setU64(r, <u64>n);
  for (let off = 0; off < n; off += 31) {
    copy(el(IN, 0), r);
    setBytes(el(IN, 1), b.dataStart + <usize>off, min(31, n - off));
    hash(r, IN, 2);
  }
}

/** out = eventHash(e): version 1 without a cause, version 2 with one. */
export function eventHash(out: usize, e: TraceEvent): void {
  const cause = e.cause;
  // a = Poseidon(version, seq, agent, intent); the strings first, since strField uses IN. The
  // version keeps a version 2 event from ever hashing like a version 1 one, whatever its fields.
  strField(el(ABC, 1), e.agent);
  strField(el(ABC, 2), e.intent);
  setU64(el(IN, 0), cause === null ? ENCODING_VERSION : ENCODING_VERSION_CAUSE);
  setU64(el(IN, 1), e.seq);
  copy(el(IN, 2), el(ABC, 1));
  copy(el(IN, 3), el(ABC, 2));
  hash(el(ABC, 0), IN, 4);
  // b = Poseidon(inputHash hi, lo, outputHash hi, lo)
  setBytes(el(IN, 0), e.inputHash.dataStart, 16);
  setBytes(el(IN, 1), e.inputHash.dataStart + 16, 16);
  setBytes(el(IN, 2), e.outputHash.dataStart, 16);
  setBytes(el(IN, 3), e.outputHash.dataStart + 16, 16);
  hash(el(ABC, 1), IN, 4);
  // c = Poseidon(status, cost, logicalTime)
  setU64(el(IN, 0), <u64>e.status);
  setU64(el(IN, 1), e.cost);
  setU64(el(IN, 2), e.logicalTime);
  hash(el(ABC, 2), IN, 3);
  if (cause === null) {
    hash(out, ABC, 3);
    return;
  }
  // d = Poseidon(cause hi, lo): a 4th input of the top hash, so a and b (already 4 inputs each)
  // keep their version 1 shape and the circuit, which takes only eventHash, is unchanged.
  setBytes(el(IN, 0), cause.dataStart, 16);
  setBytes(el(IN, 1), cause.dataStart + 16, 16);
  hash(el(ABC, 3), IN, 2);
  hash(out, ABC, 4);
}

/** The cost the chain step takes: the cost, saturated at 2^32 − 1. */
export function chainCost(cost: u64): u64 {
  return cost > MAX_CHAIN_COST ? MAX_CHAIN_COST : cost;
}

/** out = Poseidon(prev, eh, chainCost(cost)); out may alias prev or eh. */
export function chainStep(out: usize, prev: usize, eh: usize, cost: u64): void {
  copy(el(IN, 0), prev);
  copy(el(IN, 1), eh);
  setU64(el(IN, 2), chainCost(cost));
  hash(out, IN, 3);
}

/** r = the canonical decimal string s (digits, no leading zeros, < p); false otherwise. */
export function parseCanonical(r: usize, s: string): bool {
  if (s.length == 0 || s.length > 77) return false;
  if (s.length > 1 && s.charCodeAt(0) == 48) return false;
  if (!fromDecimal(r, s)) return false;
  return toDecimal(r) == s; // refuses values ≥ p, which fromDecimal reduces
}

export { toDecimal, zero, copy };
export const FR: i32 = FR_BYTES;
