/**
 * The plugin's state in kv (prefix `agreements/`, layout in README.md) and an in-memory cache of
 * it. Every change is written through to kv before the call returns, so a restart (a new
 * instance or a new kernel over the same store) finds every agreement, binding and counter; the
 * cache only saves reads, and it is safe because this module is the only writer of its key space.
 * Concurrency slots are deliberately memory-only: after a restart no operation is in flight.
 */
import { CborMap, Err, Value, decode, encode, kvDelete, kvGet, kvPut, kvScan } from "@mcp0/abi/as";
import { Agreement, readAgreement, docError } from "./document";

export const AGREEMENT_PREFIX = "agreements/a/";
export const CONSUMER_PREFIX = "agreements/c/";
export const BINDING_PREFIX = "agreements/b/";
export const STORAGE_PREFIX = "agreements/s/";
export const WINDOW_PREFIX = "agreements/w/";
export const LEDGER_PREFIX = "agreements/l/";
/** Billing lines are kept per agreement and UTC hour. */
export const LEDGER_MS: u64 = 3600000;

/** The last kv or state error, or null. Callers check it after every state read. */
export let stateErr: Err | null = null;

function stateFail(key: string, what: string): void {
  stateErr = new Err("ESTATE", 'kv "' + key + '" ' + what);
}

/** A time as 20 digits, so key order is time order. */
export function pad20(n: u64): string {
  let s = n.toString();
  while (s.length < 20) s = "0" + s;
  return s;
}

// ---- agreements ----

/** A registered agreement and its status. */
export class Entry {
  constructor(
    public ag: Agreement,
    public revoked: bool,
    public revokedAt: u64,
    public registeredAt: u64,
    public consumerKey: string,
    public providerKey: string,
  ) {}

  toValue(): CborMap {
    return Value.map()
      .set("document", this.ag.doc)
      .set("revoked", Value.bool(this.revoked))
      .set("revokedAt", this.revoked ? Value.uint(this.revokedAt) : Value.nil())
      .set("registeredAt", Value.uint(this.registeredAt))
      .set("consumerKey", Value.text(this.consumerKey))
      .set("providerKey", Value.text(this.providerKey));
  }
}

const entries = new Map<string, Entry>();

/** The agreement `id`, or null when it is not registered (or on error: check stateErr). */
export function loadEntry(id: string): Entry | null {
  stateErr = null;
  if (entries.has(id)) return entries.get(id);
  const key = AGREEMENT_PREFIX + id;
  const got = kvGet(key);
  if (!got.ok) { stateErr = got.error; return null; }
  if (got.value === null) return null;
  const d = decode(got.value!);
  const m = d.ok ? d.value.asMap() : null;
  if (m === null) { stateFail(key, "is not a CBOR map"); return null; }
  const doc = m.get("document");
  const ag: Agreement | null = doc === null ? null : readAgreement(doc);
  const revoked = m.get("revoked");
  const revokedAt = m.get("revokedAt");
  const registeredAt = m.get("registeredAt");
  const ck = m.getText("consumerKey");
  const pk = m.getText("providerKey");
  if (ag === null || revoked === null || !revoked.isBool() || revokedAt === null || registeredAt === null || !registeredAt.isUint() || ck === null || pk === null) {
    stateFail(key, "is not an agreement record" + (ag === null ? " (" + docError + ")" : ""));
    return null;
  }
  const e = new Entry(ag!, revoked.asBool(), revokedAt.asUint(), registeredAt.asUint(), ck, pk);
  entries.set(id, e);
  return e;
}

/**
 * Write an agreement record (a new one after its consumer index entry, so a crash in between
 * leaves an index entry without a record, which readers skip and a retried register completes);
 * updates the cache only on success.
 */
export function saveEntry(e: Entry, isNew: bool): Err | null {
  if (isNew) {
    const err = kvPut(CONSUMER_PREFIX + e.ag.consumer + "/" + e.ag.id, new Uint8Array(0));
    if (err !== null) return err;
  }
  const err = kvPut(AGREEMENT_PREFIX + e.ag.id, encode(e.toValue()));
  if (err !== null) return err;
  if (isNew && consumers.has(e.ag.consumer)) {
    const ids = consumers.get(e.ag.consumer);
    if (!ids.includes(e.ag.id)) {
      ids.push(e.ag.id);
      ids.sort();
    }
  }
  entries.set(e.ag.id, e);
  return null;
}

// ---- the consumer index ----

const consumers = new Map<string, Array<string>>();

/** Ids of every agreement registered for `consumer`, in id order (check stateErr). */
export function consumerIds(consumer: string): Array<string> {
  stateErr = null;
  if (consumers.has(consumer)) return consumers.get(consumer);
  const prefix = CONSUMER_PREFIX + consumer + "/";
  const ids = new Array<string>();
  let after: string | null = null;
  while (true) {
    const page = kvScan(prefix, 1000, after);
    if (!page.ok) { stateErr = page.error; return new Array<string>(); }
    const items = page.value;
    for (let i = 0, n = items.length; i < n; i++) ids.push(unchecked(items[i]).key.slice(prefix.length));
    if (items.length < 1000) break;
    after = items[items.length - 1].key;
  }
  consumers.set(consumer, ids);
  return ids;
}

// ---- bindings: agent → agreement id ----

const bindings = new Map<string, string>();

/** The agreement id `agent` is bound to, or "" (check stateErr). */
export function bindingOf(agent: string): string {
  stateErr = null;
  if (bindings.has(agent)) return bindings.get(agent);
  const key = BINDING_PREFIX + agent;
  const got = kvGet(key);
  if (!got.ok) { stateErr = got.error; return ""; }
  let id = "";
  if (got.value !== null) {
    const d = decode(got.value!);
    if (!d.ok || d.value.asText() === null) { stateFail(key, "is not CBOR text"); return ""; }
    id = d.value.asText()!;
  }
  bindings.set(agent, id);
  return id;
}

export function saveBinding(agent: string, id: string): Err | null {
  const err = kvPut(BINDING_PREFIX + agent, encode(Value.text(id)));
  if (err === null) bindings.set(agent, id);
  return err;
}

/** Remove a binding; true when there was one. */
export function deleteBinding(agent: string): bool {
  stateErr = null;
  const r = kvDelete(BINDING_PREFIX + agent);
  if (!r.ok) { stateErr = r.error; return false; }
  bindings.set(agent, "");
  return r.value;
}

// ---- stored bytes, as reported through meter ----

const storage = new Map<string, u64>();

/** Bytes reported for an agent or consumer (0 when none; check stateErr). */
export function storageOf(name: string): u64 {
  stateErr = null;
  if (storage.has(name)) return storage.get(name);
  const key = STORAGE_PREFIX + name;
  const got = kvGet(key);
  if (!got.ok) { stateErr = got.error; return 0; }
  let n: u64 = 0;
  if (got.value !== null) {
    const d = decode(got.value!);
    if (!d.ok || !d.value.isUint()) { stateFail(key, "is not a CBOR uint"); return 0; }
    n = d.value.asUint();
  }
  storage.set(name, n);
  return n;
}

export function saveStorage(name: string, bytes: u64): Err | null {
  const err = kvPut(STORAGE_PREFIX + name, encode(Value.uint(bytes)));
  if (err === null) storage.set(name, bytes);
  return err;
}

// ---- counters: quota windows and billing hours ----

/** Usage within one window (or one billing hour) of one agreement. */
export class Counter {
  /** The kv key it lives under ("" until known). */
  key: string = "";
  /** Calls admitted by this instance and not yet observed: memory only, like concurrency slots. */
  reserved: u64 = 0;
  calls: u64 = 0;
  costUnits: u64 = 0;
  bytesIn: u64 = 0;
  bytesOut: u64 = 0;
  constructor(public start: u64) {}

  /** Calls counted against the quota: the observed ones plus the reservations. */
  get admitted(): u64 {
    return this.calls + this.reserved;
  }

  toValue(): CborMap {
    return Value.map()
      .set("calls", Value.uint(this.calls))
      .set("costUnits", Value.uint(this.costUnits)).set("bytesIn", Value.uint(this.bytesIn)).set("bytesOut", Value.uint(this.bytesOut));
  }
}

function field(m: CborMap, name: string): u64 {
  const v = m.get(name);
  return v === null ? 0 : v.asUint();
}

/** A counter read from kv bytes, or null with stateErr set. */
export function parseCounter(key: string, start: u64, bytes: Uint8Array): Counter | null {
  const d = decode(bytes);
  const m = d.ok ? d.value.asMap() : null;
  if (m === null) { stateFail(key, "is not a counter map"); return null; }
  for (let i = 0, n = m.entries.length; i < n; i++) {
    if (!unchecked(m.entries[i]).value.isUint()) { stateFail(key, "is not a counter map of uints"); return null; }
  }
  const c = new Counter(start);
  c.key = key;
  c.calls = field(m, "calls");
  c.costUnits = field(m, "costUnits");
  c.bytesIn = field(m, "bytesIn");
  c.bytesOut = field(m, "bytesOut");
  return c;
}

function readCounter(key: string, start: u64): Counter | null {
  stateErr = null;
  const got = kvGet(key);
  if (!got.ok) { stateErr = got.error; return null; }
  if (got.value === null) {
    const c = new Counter(start);
    c.key = key;
    return c;
  }
  return parseCounter(key, start, got.value!);
}

// The cache keeps only the latest window and hour per agreement: older ones are read from kv.
const windows = new Map<string, Counter>();
const hours = new Map<string, Counter>();
// Windows pushed out of the cache while they still hold reservations (operations whose logical
// times fall in different windows): kept until read again, so no reservation is forgotten.
const parked = new Map<string, Counter>();

function cached(cache: Map<string, Counter>, prefix: string, id: string, start: u64, keep: bool): Counter | null {
  let old: Counter | null = null;
  if (cache.has(id)) {
    old = cache.get(id);
    if (old.start == start) return old;
  }
  // The key is built only on a cache miss: once per window, not once per operation.
  const key = prefix + id + "/" + pad20(start);
  let c: Counter | null;
  if (parked.has(key)) {
    c = parked.get(key);
    parked.delete(key);
  } else {
    c = readCounter(key, start);
  }
  if (c !== null && keep) {
    if (old !== null && old.reserved > 0) parked.set(old.key, old);
    cache.set(id, c);
  }
  return c;
}

/** The window counter of agreement `id` starting at `start` (null on error: stateErr). */
export function windowOf(id: string, start: u64, keep: bool = true): Counter | null {
  stateErr = null;
  return cached(windows, WINDOW_PREFIX, id, start, keep);
}

/** The billing counter of agreement `id` for the hour starting at `hour`. */
export function hourOf(id: string, hour: u64): Counter | null {
  stateErr = null;
  return cached(hours, LEDGER_PREFIX, id, hour, true);
}

/** Append the shortest CBOR head of major type 0 (uint) for `n`. */
function putUint(out: Array<u8>, n: u64): void {
  if (n < 24) { out.push(<u8>n); return; }
  let bytes = 8;
  let head: u8 = 0x1b;
  if (n <= 0xff) { bytes = 1; head = 0x18; }
  else if (n <= 0xffff) { bytes = 2; head = 0x19; }
  else if (n <= 0xffffffff) { bytes = 4; head = 0x1a; }
  out.push(head);
  for (let i = bytes - 1; i >= 0; i--) out.push(<u8>(n >> (<u64>i * 8)));
}

// The counter's keys, encoded, in deterministic (bytewise) order: the hot path writes a counter
// per operation, so it skips building a map.
const COUNTER_KEYS: StaticArray<string> = ["calls", "bytesIn", "bytesOut", "costUnits"];

/** The deterministic CBOR of a counter, equal to encode(c.toValue()). */
export function encodeCounter(c: Counter): Uint8Array {
  const out = new Array<u8>();
  out.push(0xa4);
  const values: StaticArray<u64> = [c.calls, c.bytesIn, c.bytesOut, c.costUnits];
  for (let i = 0; i < 4; i++) {
    const k = COUNTER_KEYS[i];
    out.push(<u8>(0x60 + k.length));
    for (let j = 0; j < k.length; j++) out.push(<u8>k.charCodeAt(j));
    putUint(out, values[i]);
  }
  const bytes = new Uint8Array(out.length);
  for (let i = 0, n = out.length; i < n; i++) unchecked(bytes[i] = out[i]);
  return bytes;
}

/** Write a counter read through windowOf or hourOf back under its key. */
export function saveCounter(c: Counter): Err | null {
  return kvPut(c.key, encodeCounter(c));
}

/**
 * True when the quota windows of an agreement nest inside UTC hours (windowMs divides an hour):
 * then the window records are the billing lines, and no separate hour record is written.
 */
export function windowsBill(windowMs: u64): bool {
  return LEDGER_MS % windowMs == 0;
}

// ---- operations in flight (memory only) ----

const inflight = new Map<string, u64>();
const opAgreement = new Map<string, string>();

export function inFlight(id: string): u64 {
  return inflight.has(id) ? inflight.get(id) : 0;
}

/** Take a concurrency slot of agreement `id` for operation `opId`. */
export function takeSlot(id: string, opId: string): void {
  inflight.set(id, inFlight(id) + 1);
  opAgreement.set(opId, id);
}

/** Give back the slot `opId` took; the agreement id, or "" when it took none here. */
export function releaseSlot(opId: string): string {
  if (!opAgreement.has(opId)) return "";
  const id = opAgreement.get(opId);
  opAgreement.delete(opId);
  const n = inFlight(id);
  inflight.set(id, n > 0 ? n - 1 : 0);
  return id;
}
