/**
 * The service exports: register (both signatures verified here, through `crypto`, and the provider
 * one the operator accepts), revoke, get, bind/unbind (the node puts an agent under an agreement
 * of the key the agent acts for), binding (which one that is), meter (the node reports stored
 * bytes), usage and invoice. Every input is checked before anything is written, so a refused call
 * leaves the stored state as it was.
 */
import { CborMap, KEY_ID_EXPECTED, Value, clockNow, decode, encode, fail, failWith, isKeyId, kvScan, readArgs, readInput, respond } from "@mcp0/abi/as";
import { providerRefusal, shown } from "./config";
import { Agreement, checkId, docError, readAgreement } from "./document";
import { verifyAgreement } from "./signatures";
import {
  Counter, Entry, LEDGER_MS, LEDGER_PREFIX, WINDOW_PREFIX, windowsBill, bindingOf, consumerIds, deleteBinding, inFlight, loadEntry, pad20, parseCounter,
  saveBinding, saveEntry, saveStorage, stateErr, storageOf, windowOf,
} from "./state";

/** The largest register input: the same 64 KiB as the host's MAX_AGREEMENT_BYTES. */
export const MAX_DOCUMENT_BYTES: i32 = 64 * 1024;

/** Text naming an agent, consumer or agreement id: 1..128 of A-Z a-z 0-9 _ . : @ - (no "/", which would cross kv keys). */
function nameProblem(field: string, s: string): string | null {
  const p = checkId(s, 128, false);
  return p === null ? null : '"' + field + '" ' + p;
}

/** {document: map} → {id, consumer, provider, consumerKey, providerKey}. */
export function register(): i32 {
  const input = readInput();
  if (input.length > MAX_DOCUMENT_BYTES) return fail("ETOOBIG", "register: expected at most " + MAX_DOCUMENT_BYTES.toString() + " bytes of input, got " + input.length.toString());
  const d = decode(input);
  if (!d.ok) return fail("EINPUT", "input: " + d.error!.message);
  const m = d.value.asMap();
  if (m === null) return fail("EINPUT", "input: expected {document: map}, got " + d.value.typeName);
  const doc = m.get("document");
  if (doc === null) return fail("EINPUT", '"document" is missing, expected the agreement as a map');
  const ag = readAgreement(doc);
  if (ag === null) return fail("EINPUT", "invalid agreement: " + docError);
  const v = verifyAgreement(ag);
  if (v.error !== null) return failWith(v.error!);
  // Two valid signatures say only that two keys agreed: the node's operator says which providers count.
  const refused = providerRefusal(ag.id, ag.provider);
  if (refused !== null) return failWith(refused);

  const old = loadEntry(ag.id);
  if (stateErr !== null) return failWith(stateErr!);
  if (old !== null) {
    if (old.revoked) return fail("ESTATE", "agreement " + ag.id + " was revoked; an id is never reused");
    const same = encode(old.ag.doc);
    const now = encode(ag.doc);
    if (same.length != now.length || memory.compare(same.dataStart, now.dataStart, now.length) != 0) {
      return fail("ECONFLICT", "agreement " + ag.id + " is already registered with another document");
    }
  } else {
    const t = clockNow();
    if (!t.ok) return failWith(t.error!);
    const err = saveEntry(new Entry(ag, false, 0, t.value, v.consumerKey, v.providerKey), true);
    if (err !== null) return failWith(err);
  }
  return respond(Value.map().set("id", Value.text(ag.id)).set("consumer", Value.text(ag.consumer)).set("provider", Value.text(ag.provider))
    .set("consumerKey", Value.text(v.consumerKey)).set("providerKey", Value.text(v.providerKey)));
}

/** Reads {id}; returns the entry or null after failing the call. */
let rc: i32 = 0;
function entryArg(): Entry | null {
  const a = readArgs();
  const id = a.text("id");
  if (a.error !== null) { rc = a.fail(); return null; }
  const e = loadEntry(id);
  if (stateErr !== null) { rc = failWith(stateErr!); return null; }
  if (e === null) { rc = fail("ENOTFOUND", "no agreement " + id + " is registered"); return null; }
  return e;
}

/** {id} → {id, revoked: true, revokedAt}: every later operation under it is denied. */
export function revoke(): i32 {
  const e = entryArg();
  if (e === null) return rc;
  if (!e.revoked) {
    const t = clockNow();
    if (!t.ok) return failWith(t.error!);
    const next = new Entry(e.ag, true, t.value, e.registeredAt, e.consumerKey, e.providerKey);
    const err = saveEntry(next, false);
    if (err !== null) return failWith(err);
    return respond(Value.map().set("id", Value.text(e.ag.id)).set("revoked", Value.bool(true)).set("revokedAt", Value.uint(t.value)));
  }
  return respond(Value.map().set("id", Value.text(e.ag.id)).set("revoked", Value.bool(true)).set("revokedAt", Value.uint(e.revokedAt)));
}

/** {id} → {document, revoked, revokedAt, registeredAt, consumerKey, providerKey}. */
export function get(): i32 {
  const e = entryArg();
  if (e === null) return rc;
  return respond(e.toValue());
}

/**
 * {agent, agreement, consumer} → {agent, agreement}: operations of `agent` run under that
 * agreement. `consumer` is the key id the agent acts for (the node passes the key that signed the
 * agent's module); it must be the agreement's consumer, or anyone's agent could run on anyone's
 * agreement and be billed to them.
 */
export function bind(): i32 {
  const a = readArgs();
  const agent = a.text("agent");
  const id = a.text("agreement");
  const consumer = a.text("consumer");
  if (a.error !== null) return a.fail();
  const p = nameProblem("agent", agent);
  if (p !== null) return fail("EINPUT", p);
  if (!isKeyId(consumer)) return fail("EINPUT", '"consumer" ' + KEY_ID_EXPECTED + ", got " + shown(consumer));
  const e = loadEntry(id);
  if (stateErr !== null) return failWith(stateErr!);
  if (e === null) return fail("ENOTFOUND", "no agreement " + id + " is registered");
  if (e.revoked) return fail("ESTATE", "agreement " + id + " was revoked");
  if (e.ag.consumer != consumer) {
    return fail("EPERM", "agreement " + id + ": expected the agent " + agent + " to act for the agreement's consumer " + e.ag.consumer + ", got " + consumer + " (the key the agent acts for: a node passes the key that signed its module)");
  }
  // The operator may have stopped accepting the provider since the agreement was registered.
  const refused = providerRefusal(id, e.ag.provider);
  if (refused !== null) return failWith(refused);
  const err = saveBinding(agent, id);
  if (err !== null) return failWith(err);
  return respond(Value.map().set("agent", Value.text(agent)).set("agreement", Value.text(id)));
}

/** {agent} → {unbound: bool}: whether a binding was removed. */
export function unbind(): i32 {
  const a = readArgs();
  const agent = a.text("agent");
  if (a.error !== null) return a.fail();
  const p = nameProblem("agent", agent);
  if (p !== null) return fail("EINPUT", p);
  const had = deleteBinding(agent);
  if (stateErr !== null) return failWith(stateErr!);
  return respond(Value.map().set("unbound", Value.bool(had)));
}

/**
 * {agent} → {agent, agreement: id | null}: the agreement `bind` put the agent under, or null. The
 * binding as recorded: whether that agreement still admits anything is admit's question. Callers
 * beside a running plugin (the CLI) ask here rather than read `agreements/b/<agent>` from the store.
 */
export function binding(): i32 {
  const a = readArgs();
  const agent = a.text("agent");
  if (a.error !== null) return a.fail();
  const p = nameProblem("agent", agent);
  if (p !== null) return fail("EINPUT", p);
  const id = bindingOf(agent);
  if (stateErr !== null) return failWith(stateErr!);
  // bind refuses unregistered ids and ids are 1 to 128 characters, so "" is bindingOf's "none".
  return respond(Value.map().set("agent", Value.text(agent)).set("agreement", id == "" ? Value.nil() : Value.text(id)));
}

/** {agent | consumer, storageBytes} → null: the bytes an agent (or consumer) stores now. */
export function meter(): i32 {
  const a = readArgs();
  const agent = a.optText("agent");
  const consumer = a.optText("consumer");
  const bytes = a.uint("storageBytes");
  if (a.error !== null) return a.fail();
  if ((agent === null) == (consumer === null)) return fail("EINPUT", 'expected exactly one of "agent" and "consumer"');
  const name = agent !== null ? agent! : consumer!;
  const p = nameProblem(agent !== null ? "agent" : "consumer", name);
  if (p !== null) return fail("EINPUT", p);
  const err = saveStorage(name, bytes);
  if (err !== null) return failWith(err);
  return respond(Value.nil());
}

function limit(m: CborMap, name: string, n: u64): void {
  if (n != u64.MAX_VALUE) m.set(name, Value.uint(n));
}

/** Reads {consumer}; the consumer's agreement ids, or null after failing the call. */
function consumerArg(consumer: string): Array<string> | null {
  const p = nameProblem("consumer", consumer);
  if (p !== null) { rc = fail("EINPUT", p); return null; }
  const ids = consumerIds(consumer);
  if (stateErr !== null) { rc = failWith(stateErr!); return null; }
  return ids;
}

/**
 * {consumer, window?: uint} → {consumer, time, storageBytes, agreements: [{id, revoked,
 * windowStart, windowMs, admitted, calls, costUnits, bytesIn, bytesOut, inFlight, limits}]}:
 * each agreement's usage in its window containing `window` (a time in ms; default now).
 */
export function usage(): i32 {
  const a = readArgs();
  const consumer = a.text("consumer");
  let time = a.uintOr("window", u64.MAX_VALUE);
  if (a.error !== null) return a.fail();
  if (time == u64.MAX_VALUE) {
    const t = clockNow();
    if (!t.ok) return failWith(t.error!);
    time = t.value;
  }
  const ids = consumerArg(consumer);
  if (ids === null) return rc;
  const list = Value.array();
  for (let i = 0, n = ids.length; i < n; i++) {
    const e = loadEntry(unchecked(ids[i]));
    if (e === null) {
      if (stateErr !== null) return failWith(stateErr!);
      continue; // indexed, never stored: a register that did not finish
    }
    const ag = e.ag;
    const start = time - time % ag.windowMs;
    const w = windowOf(ag.id, start, false);
    if (w === null) return failWith(stateErr!);
    const limits = Value.map();
    limit(limits, "callsPerWindow", ag.callsPerWindow);
    limit(limits, "costUnitsPerWindow", ag.costUnitsPerWindow);
    limit(limits, "storageBytes", ag.storageBytes);
    limit(limits, "maxConcurrent", ag.maxConcurrent);
    list.push(Value.map()
      .set("id", Value.text(ag.id)).set("revoked", Value.bool(e.revoked))
      .set("windowStart", Value.uint(start)).set("windowMs", Value.uint(ag.windowMs))
      .set("admitted", Value.uint(w.admitted)).set("calls", Value.uint(w.calls)).set("costUnits", Value.uint(w.costUnits))
      .set("bytesIn", Value.uint(w.bytesIn)).set("bytesOut", Value.uint(w.bytesOut))
      .set("inFlight", Value.uint(inFlight(ag.id))).set("limits", limits));
  }
  const stored = storageOf(consumer);
  if (stateErr !== null) return failWith(stateErr!);
  return respond(Value.map().set("consumer", Value.text(consumer)).set("time", Value.uint(time))
    .set("storageBytes", Value.uint(stored)).set("agreements", list));
}

/** Sums of the billing lines of an agreement in [from, to): its windows when they nest in hours, else its hour records. */
function billed(ag: Agreement, from: u64, to: u64): Counter | null {
  const prefix = (windowsBill(ag.windowMs) ? WINDOW_PREFIX : LEDGER_PREFIX) + ag.id + "/";
  const sum = new Counter(from);
  let after: string | null = from == 0 ? null : prefix + pad20(from - 1);
  while (true) {
    const page = kvScan(prefix, 1000, after);
    if (!page.ok) { rc = failWith(page.error!); return null; }
    const items = page.value;
    for (let i = 0, n = items.length; i < n; i++) {
      const it = unchecked(items[i]);
      const hour = U64.parseInt(it.key.slice(prefix.length), 10);
      if (hour >= to) return sum;
      const c = parseCounter(it.key, hour, it.value);
      if (c === null) { rc = failWith(stateErr!); return null; }
      sum.calls += c.calls;
      sum.costUnits += c.costUnits;
    }
    if (items.length < 1000) return sum;
    after = items[items.length - 1].key;
  }
}

let overflow = false;
function mul(a: u64, b: u64): u64 {
  if (a != 0 && b > u64.MAX_VALUE / a) { overflow = true; return 0; }
  return a * b;
}
function plus(a: u64, b: u64): u64 {
  if (b > u64.MAX_VALUE - a) { overflow = true; return 0; }
  return a + b;
}

function line(ag: Agreement, item: string, quantity: u64, unitPrice: u64): CborMap {
  return Value.map().set("agreement", Value.text(ag.id)).set("item", Value.text(item)).set("quantity", Value.uint(quantity))
    .set("unitPrice", Value.uint(unitPrice)).set("amount", Value.uint(mul(quantity, unitPrice))).set("currency", Value.text(ag.currency));
}

/**
 * {consumer, from, to} (ms, whole UTC hours, from < to) → {consumer, from, to, lines, totals}.
 * For each of the consumer's agreements, in id order, that was in force for part of [from, to) or
 * has usage in it: a base line (baseFee once if in force), a calls line and a cost-units line
 * (observed usage × unit price). Totals per currency, in currency order. Integer arithmetic only;
 * an amount past 2^64 − 1 fails with ETOOBIG rather than wrapping.
 */
export function invoice(): i32 {
  const a = readArgs();
  const consumer = a.text("consumer");
  const from = a.uint("from");
  const to = a.uint("to");
  if (a.error !== null) return a.fail();
  if (from >= to) return fail("EINPUT", '"from" (' + from.toString() + ') must be before "to" (' + to.toString() + ")");
  if (from % LEDGER_MS != 0 || to % LEDGER_MS != 0) return fail("EINPUT", '"from" and "to" must be whole UTC hours (multiples of 3600000 ms), got ' + from.toString() + " and " + to.toString());
  const ids = consumerArg(consumer);
  if (ids === null) return rc;
  overflow = false;
  const lines = Value.array();
  const currencies = new Array<string>();
  const totals = new Array<u64>();
  for (let i = 0, n = ids.length; i < n; i++) {
    const e = loadEntry(unchecked(ids[i]));
    if (e === null) {
      if (stateErr !== null) return failWith(stateErr!);
      continue; // indexed, never stored: a register that did not finish
    }
    const ag = e.ag;
    const end = e.revoked && e.revokedAt < ag.notAfter ? e.revokedAt : ag.notAfter;
    const inForce = ag.notBefore < to && end > from && ag.notBefore < end;
    const used = billed(ag, from, to);
    if (used === null) return rc;
    if (!inForce && used.calls == 0 && used.costUnits == 0) continue;
    const base = line(ag, "base", inForce ? 1 : 0, ag.baseFee);
    const calls = line(ag, "calls", used.calls, ag.perCall);
    const units = line(ag, "costUnits", used.costUnits, ag.perCostUnit);
    lines.push(base).push(calls).push(units);
    const sum = plus(plus(base.get("amount")!.asUint(), calls.get("amount")!.asUint()), units.get("amount")!.asUint());
    let k = currencies.indexOf(ag.currency);
    if (k < 0) { currencies.push(ag.currency); totals.push(0); k = currencies.length - 1; }
    totals[k] = plus(totals[k], sum);
  }
  if (overflow) return fail("ETOOBIG", "an invoice amount exceeds 2^64 − 1 minor units");
  // Currency order, by insertion sort over a handful of currencies.
  for (let i = 1, n = currencies.length; i < n; i++) {
    const c = currencies[i]; const t = totals[i];
    let j = i - 1;
    while (j >= 0 && currencies[j] > c) { currencies[j + 1] = currencies[j]; totals[j + 1] = totals[j]; j--; }
    currencies[j + 1] = c; totals[j + 1] = t;
  }
  const tv = Value.array();
  for (let i = 0, n = currencies.length; i < n; i++) tv.push(Value.map().set("currency", Value.text(currencies[i])).set("amount", Value.uint(totals[i])));
  return respond(Value.map().set("consumer", Value.text(consumer)).set("from", Value.uint(from)).set("to", Value.uint(to))
    .set("lines", lines).set("totals", tv));
}
