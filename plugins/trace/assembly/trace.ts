/**
 * The trace: the observe hook appends every operation to a Poseidon hash chain kept in kv under
 * `trace/`, and the exports read (head, get, range) and check (verifyRange) it. The layout and the
 * encoding are in README.md; the hashing is in chain.ts.
 */
import { Value, decode, encode, fail, failWith, kvGet, kvPut, readArgs, readObserve, respond } from "@mcp0/abi/as";
import { TraceEvent, eventHash, chainStep, parseEvent, parseCanonical, toDecimal, zero, FR } from "./chain";

/** The last seq the trace role allows: 2^53 − 1, so seqs are exact as numbers in every client. */
const MAX_SEQ: u64 = 9007199254740991;

/** The head record: {seq, head} of the last entry. */
export const HEAD_KEY = "trace/head";
/** Entries: `trace/e/` + seq as 20 decimal digits, so key order is seq order. */
export const ENTRY_PREFIX = "trace/e/";
/** The most entries one range or verifyRange call covers. */
export const MAX_RANGE: u64 = 1000;

const PREV: usize = memory.data(FR);
const EH: usize = memory.data(FR);
const HD: usize = memory.data(FR);

export function entryKey(seq: u64): string {
  let s = seq.toString();
  while (s.length < 20) s = "0" + s;
  return ENTRY_PREFIX + s;
}

/** The stored head record, read strictly. */
class HeadState {
  /** False when nothing was recorded yet. */
  exists: bool = false;
  seq: u64 = 0;
  head: string = "0";
  /** An ESTATE or host error; null when the record was read. */
  code: string | null = null;
  message: string = "";
}

/** Read `trace/head`; on success PREV holds the head (0 when there is none). */
function readHead(): HeadState {
  const h = new HeadState();
  zero(PREV);
  const got = kvGet(HEAD_KEY);
  if (!got.ok) {
    h.code = got.error!.code;
    h.message = got.error!.message;
    return h;
  }
  const bytes = got.value;
  if (bytes === null) return h;
  const d = decode(bytes);
  let seq: Value | null = null;
  let head: string | null = null;
  if (d.ok && d.value.asMap() !== null) {
    const m = d.value.asMap()!;
    seq = m.get("seq");
    head = m.getText("head");
  }
  if (seq === null || !seq.isUint() || head === null || !parseCanonical(PREV, head)) {
    h.code = "ESTATE";
    h.message = 'kv "' + HEAD_KEY + '" is not a head record {seq: uint, head: decimal field element}';
    zero(PREV);
    return h;
  }
  h.exists = true;
  h.seq = seq.asUint();
  h.head = head;
  return h;
}

/** Observe hook: {op: {id, agent, intent, time, inputBytes, cause?}, outcome: {status, cost, inputHash, outputHash, …}} → appends one entry. */
export function mcp0_observe(): i32 {
  const o = readObserve();
  if (o.error !== null) return o.fail();
  const e = new TraceEvent();
  e.agent = o.op.agent;
  e.intent = o.op.intent;
  e.logicalTime = o.op.time;
  e.cost = o.outcome.cost;
  e.inputHash = o.outcome.inputHash; // 32 bytes: readObserve checks
  e.outputHash = o.outcome.outputHash;
  // ABI 1.2: what caused the operation (32 bytes: readObserve checks), bound into the event as
  // version 2; null (none sent) keeps the event version 1.
  e.cause = o.op.cause;
  const status = o.outcome.status;
  if (status == "ok") e.status = 0;
  else if (status == "error") e.status = 1;
  // "denied" goes only to hooks that also admit (ABI.md §5), which trace does not. An event's
  // status is 0 or 1 (README), so one it cannot record is refused rather than recorded as either.
  else return fail("EINPUT", 'outcome."status" expected "ok" or "error", got "' + status + '"');

  const h = readHead();
  if (h.code !== null) return fail(h.code!, h.message);
  // The role's contract keeps seqs below 2^53 (abi/ROLES.md), so every client reads them as numbers.
  if (h.exists && h.seq >= MAX_SEQ) return fail("ETOOBIG", "the trace is full: seq " + h.seq.toString() + " is the last the trace role allows (2^53 - 1)");
  e.seq = h.exists ? h.seq + 1 : 0;

  eventHash(EH, e);
  chainStep(HD, PREV, EH, e.cost);
  const headText = toDecimal(HD);
  const entry = Value.map()
    .set("seq", Value.uint(e.seq))
    .set("event", e.toValue())
    .set("eventHash", Value.text(toDecimal(EH)))
    .set("head", Value.text(headText));
  // The entry first, then the head record: a crash in between leaves an entry past the head,
  // which the next observe overwrites (it was never part of the chain).
  let err = kvPut(entryKey(e.seq), encode(entry));
  if (err !== null) return failWith(err);
  err = kvPut(HEAD_KEY, encode(Value.map().set("seq", Value.uint(e.seq)).set("head", Value.text(headText))));
  if (err !== null) return failWith(err);
  return 0;
}

/** {} → {seq: uint | null, head: decimal}: the last entry's seq and head (null and "0" when empty). */
export function head(): i32 {
  const a = readArgs();
  if (a.error !== null) return a.fail();
  const h = readHead();
  if (h.code !== null) return fail(h.code!, h.message);
  return respond(Value.map().set("seq", h.exists ? Value.uint(h.seq) : Value.nil()).set("head", Value.text(h.head)));
}

/** The stored entry at seq, decoded; null when absent. Sets `lastCode`/`lastMessage` on errors. */
let lastCode: string | null = null;
let lastMessage = "";
function readEntry(seq: u64): Value | null {
  lastCode = null;
  const key = entryKey(seq);
  const got = kvGet(key);
  if (!got.ok) {
    lastCode = got.error!.code;
    lastMessage = got.error!.message;
    return null;
  }
  const bytes = got.value;
  if (bytes === null) return null;
  const d = decode(bytes);
  if (!d.ok) {
    lastCode = "ESTATE";
    lastMessage = 'kv "' + key + '" does not decode: ' + d.error!.message;
    return null;
  }
  return d.value;
}

/** {seq: uint} → the entry {seq, event, eventHash, head}, or ENOTFOUND. */
export function get(): i32 {
  const a = readArgs();
  const seq = a.uint("seq");
  if (a.error !== null) return a.fail();
  const v = readEntry(seq);
  if (lastCode !== null) return fail(lastCode!, lastMessage);
  if (v === null) return fail("ENOTFOUND", "no trace entry " + seq.toString());
  return respond(v);
}

/** Reads {from, to}; returns null (and has failed the call) when they are bad. */
class Bounds {
  from: u64 = 0;
  to: u64 = 0;
  rc: i32 = -1;
}
function readBounds(): Bounds {
  const b = new Bounds();
  const a = readArgs();
  b.from = a.uint("from");
  b.to = a.uint("to");
  if (a.error !== null) {
    b.rc = a.fail();
    return b;
  }
  if (b.from > b.to) {
    b.rc = fail("EINPUT", '"from" (' + b.from.toString() + ') is after "to" (' + b.to.toString() + ")");
    return b;
  }
  if (b.to - b.from >= MAX_RANGE) {
    b.rc = fail("ETOOBIG", "a range covers at most " + MAX_RANGE.toString() + " entries, asked for " + (b.to - b.from).toString() + " + 1");
    return b;
  }
  return b;
}

/** {from, to} (inclusive, at most 1000 entries) → [entry, …]: the stored entries in the range, in seq order. */
export function range(): i32 {
  const b = readBounds();
  if (b.rc >= 0) return b.rc;
  const h = readHead();
  if (h.code !== null) return fail(h.code!, h.message);
  const out = Value.array();
  if (!h.exists || b.from > h.seq) return respond(out);
  const last = b.to < h.seq ? b.to : h.seq;
  const n = last - b.from;
  for (let k: u64 = 0; k <= n; k++) {
    const v = readEntry(b.from + k);
    if (lastCode !== null) return fail(lastCode!, lastMessage);
    if (v !== null) out.push(v);
  }
  return respond(out);
}

function broken(seq: u64, reason: string): i32 {
  return respond(Value.map().set("ok", Value.bool(false)).set("brokenAt", Value.uint(seq)).set("reason", Value.text(reason)));
}

/**
 * {from, to} (inclusive, at most 1000 entries, to ≤ the head's seq) → {ok: true} or
 * {ok: false, brokenAt, reason}: recomputes every eventHash and head in the range from the stored
 * events, starting from the stored head of entry from − 1 (0 when from = 0).
 */
export function verifyRange(): i32 {
  const b = readBounds();
  if (b.rc >= 0) return b.rc;
  const h = readHead();
  if (h.code !== null) return fail(h.code!, h.message);
  if (!h.exists) return fail("ENOTFOUND", "the trace is empty");
  if (b.to > h.seq) return fail("ENOTFOUND", "no trace entry " + b.to.toString() + ": the head is at " + h.seq.toString());

  zero(PREV);
  if (b.from > 0) {
    const anchor = readEntry(b.from - 1);
    if (lastCode !== null && lastCode != "ESTATE") return fail(lastCode!, lastMessage);
    let t: string | null = null;
    if (anchor !== null && anchor.asMap() !== null) t = anchor.asMap()!.getText("head");
    if (t === null || !parseCanonical(PREV, t)) return broken(b.from - 1, "the anchor entry (from − 1) is missing or has no valid head");
  }
  const n = b.to - b.from;
  for (let k: u64 = 0; k <= n; k++) {
    const seq = b.from + k;
    const v = readEntry(seq);
    if (lastCode !== null) {
      if (lastCode != "ESTATE") return fail(lastCode!, lastMessage);
      return broken(seq, "the entry does not decode");
    }
    if (v === null) return broken(seq, "the entry is missing");
    const m = v.asMap();
    if (m === null) return broken(seq, "the entry is not a map");
    const s = m.get("seq");
    if (s === null || !s.isUint() || s.asUint() != seq) return broken(seq, "the entry's seq is not " + seq.toString());
    const p = parseEvent(m.get("event"));
    if (p.error !== null) return broken(seq, "malformed " + p.error!);
    if (p.event.seq != seq) return broken(seq, "the event's seq is " + p.event.seq.toString());
    if (m.size != 4) return broken(seq, "the entry has " + m.size.toString() + " fields, expected 4");
    eventHash(EH, p.event);
    const storedEh = m.getText("eventHash");
    if (storedEh === null || storedEh != toDecimal(EH)) return broken(seq, "eventHash does not match the event");
    chainStep(PREV, PREV, EH, p.event.cost);
    const storedHead = m.getText("head");
    if (storedHead === null || storedHead != toDecimal(PREV)) return broken(seq, "head does not match Poseidon(previous head, eventHash, cost)");
  }
  if (b.to == h.seq && h.head != toDecimal(PREV)) return broken(b.to, 'the head record "' + HEAD_KEY + '" does not match the last entry');
  return respond(Value.map().set("ok", Value.bool(true)));
}
