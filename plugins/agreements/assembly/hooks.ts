/**
 * The pipeline hooks. `admit` finds the agreement an operation runs under (the one bound to its
 * agent, and only that), checks it (revoked, provider still accepted, validity, permissions,
 * storage, calls, cost units, concurrency) and, when it allows, RESERVES: the call is counted and
 * a concurrency slot taken before the verdict leaves, so operations racing for a quota's last unit
 * cannot all get it (hook calls of one module are serialised). `observe` gives the slot back and
 * meters what really happened: calls, cost units and bytes, into the quota window and the billing
 * hour. Denial reasons start with a stable token: no-agreement, revoked, provider-not-accepted,
 * not-yet-valid, expired, not-permitted, quota-exhausted.
 */
import { Err, allow, deny, failWith, readAdmit, readObserve } from "@mcp0/abi/as";
import { providerDenial } from "./config";
import { Agreement } from "./document";
import { globMatch } from "./glob";
import {
  Counter, Entry, LEDGER_MS, bindingOf, hourOf, inFlight, loadEntry, releaseSlot, saveCounter,
  stateErr, storageOf, takeSlot, windowOf, windowsBill,
} from "./state";

/** True when the agreement permits `agent` to run `intent`. */
export function permits(a: Agreement, agent: string, intent: string): bool {
  const qualified = agent + "/" + intent;
  // Decisions are cached per agreement; intents come from callers, so the cache is bounded.
  const seen = a.decisions;
  if (seen.has(qualified)) return seen.get(qualified);
  let ok = false;
  for (let i = 0, n = a.intents.length; i < n && !ok; i++) ok = globMatch(unchecked(a.intents[i]), intent);
  for (let i = 0, n = a.exportGlobs.length; i < n && !ok; i++) ok = globMatch(unchecked(a.exportGlobs[i]), qualified);
  if (seen.size >= 256) seen.clear();
  seen.set(qualified, ok);
  return ok;
}

/** The agreement an operation runs under, or why there is none. */
class Choice {
  entry: Entry | null = null;
  reason: string = "";
  /** When waiting may help, how long; -1 when it will not (deny's "no hint"). */
  retryAfterMs: i64 = -1;
}

/** Why `e` does not admit the operation, or "" when it does (validity and permissions only). */
function refusal(e: Entry, agent: string, intent: string, time: u64, c: Choice): string {
  const a = e.ag;
  if (e.revoked) return "revoked: agreement " + a.id + " was revoked at " + e.revokedAt.toString();
  // The operator may have stopped accepting the provider since the agreement was registered.
  const provider = providerDenial(a.id, a.provider);
  if (provider != "") return provider;
  if (time < a.notBefore) {
    c.retryAfterMs = <i64>(a.notBefore - time); // notBefore < 2^53 (document.ts), so this fits
    return "not-yet-valid: agreement " + a.id + " is valid from " + a.notBefore.toString() + ", the operation's time is " + time.toString();
  }
  if (time >= a.notAfter) return "expired: agreement " + a.id + " expired at " + a.notAfter.toString() + ", the operation's time is " + time.toString();
  if (!permits(a, agent, intent)) return "not-permitted: agreement " + a.id + " does not permit " + agent + "/" + intent;
  return "";
}

/**
 * Resolve the agreement of an operation (null entry: denied with `reason`; check stateErr): the
 * one bound to its agent, and only that. A module's name is whatever its loader chose, so an
 * agreement found by matching the name against consumers could be reached by naming a module
 * after someone's key id; a binding is made by the node, which checks the consumer (bind).
 */
function choose(agent: string, intent: string, time: u64): Choice {
  const c = new Choice();
  const bound = bindingOf(agent);
  if (stateErr !== null) return c;
  if (bound == "") {
    c.reason = "no-agreement: no agreement is bound to " + agent;
    return c;
  }
  const e = loadEntry(bound);
  if (stateErr !== null) return c;
  if (e === null) {
    c.reason = "no-agreement: " + agent + " is bound to " + bound + ", which is not registered";
    return c;
  }
  const why = refusal(e, agent, intent, time, c);
  if (why != "") {
    c.reason = why;
    return c;
  }
  c.entry = e;
  return c;
}

/** The retry-after of a denial that waits only for operations in flight to be observed. */
const IN_FLIGHT_RETRY_MS: i64 = 100;

/** {op: {id, agent, intent, time, inputBytes}} → {allow, reason?, retryAfterMs?}. */
export function mcp0_admit(): i32 {
  const h = readAdmit();
  if (h.error !== null) return h.fail();
  const opId = h.op.id;
  const agent = h.op.agent;
  const intent = h.op.intent;
  const time = h.op.time;

  const c = choose(agent, intent, time);
  if (stateErr !== null) return failWith(stateErr!);
  const e = c.entry;
  if (e === null) return deny(c.reason, c.retryAfterMs);
  const ag = e.ag;

  if (ag.storageBytes != u64.MAX_VALUE) {
    let stored = storageOf(agent);
    if (stateErr !== null) return failWith(stateErr!);
    if (ag.consumer != agent) {
      const byConsumer = storageOf(ag.consumer);
      if (stateErr !== null) return failWith(stateErr!);
      if (byConsumer > stored) stored = byConsumer;
    }
    if (stored > ag.storageBytes) {
      return deny("quota-exhausted: " + agent + " stores " + stored.toString() + " bytes, agreement " + ag.id + " allows " + ag.storageBytes.toString());
    }
  }

  const start = time - time % ag.windowMs;
  const w = windowOf(ag.id, start);
  if (w === null) return failWith(stateErr!);
  // Until the next window: at most windowMs, which is below 2^53 (document.ts), so it fits an i64.
  const retry = <i64>(start + ag.windowMs - time);
  if (w.admitted >= ag.callsPerWindow) {
    return deny("quota-exhausted: " + w.admitted.toString() + " of " + ag.callsPerWindow.toString() + " calls used in the window from " + isoTime(start) + " of agreement " + ag.id, retry);
  }
  // Cost units are known only at observe, but every operation costs at least one (a failed one
  // exactly one), so each operation in flight holds one unit: operations racing for the last
  // units are admitted one per unit, never more.
  if (add(w.costUnits, w.reserved) >= ag.costUnitsPerWindow) {
    const used = "quota-exhausted: " + w.costUnits.toString() + " of " + ag.costUnitsPerWindow.toString() + " cost units used in the window from " + isoTime(start) + " of agreement " + ag.id;
    if (w.costUnits >= ag.costUnitsPerWindow) return deny(used, retry);
    // Only held units stand in the way: they are settled when those operations are observed.
    return deny(used + ", and " + w.reserved.toString() + " held by operations in flight", IN_FLIGHT_RETRY_MS < retry ? IN_FLIGHT_RETRY_MS : retry);
  }
  const busy = inFlight(ag.id);
  if (busy >= ag.maxConcurrent) {
    return deny("quota-exhausted: " + busy.toString() + " operations of agreement " + ag.id + " in flight, the limit is " + ag.maxConcurrent.toString());
  }
  // The reservation lives in memory: observe persists the call with its real cost, so each
  // operation costs one kv write. An operation in flight when the process dies is never observed,
  // and so neither counted nor billed (README, "Restarts").
  w.reserved++;
  takeSlot(ag.id, opId);
  return allow();
}

function add(a: u64, b: u64): u64 {
  return b > u64.MAX_VALUE - a ? u64.MAX_VALUE : a + b;
}

/** Add one observed call to a counter and persist it; on a failed write the counter is left as it was. */
function record(c: Counter, cost: u64, bytesIn: u64, bytesOut: u64): Err | null {
  const calls = c.calls, units = c.costUnits, bin = c.bytesIn, bout = c.bytesOut;
  c.calls = add(calls, 1); c.costUnits = add(units, cost); c.bytesIn = add(bin, bytesIn); c.bytesOut = add(bout, bytesOut);
  const err = saveCounter(c);
  if (err !== null) { c.calls = calls; c.costUnits = units; c.bytesIn = bin; c.bytesOut = bout; }
  return err;
}

/**
 * {op, outcome: {status, cost, bytesIn, bytesOut, …}} → meters the operation under its agreement;
 * status "denied" (another admit hook refused it after this one admitted it) only releases.
 */
export function mcp0_observe(): i32 {
  const h = readObserve();
  if (h.error !== null) return h.fail();
  const opId = h.op.id;
  const agent = h.op.agent;
  const time = h.op.time;
  const status = h.outcome.status;
  const cost = h.outcome.cost;
  const bytesIn = h.outcome.bytesIn;
  const bytesOut = h.outcome.bytesOut;

  let id = releaseSlot(opId);
  const reservedHere = id != "";
  // "denied": a later admit hook refused what this one admitted (ABI v1.1). The operation never
  // ran: give the reservation back and meter nothing.
  const denied = status == "denied";
  if (denied && !reservedHere) return 0;
  if (id == "") {
    // Admitted by an earlier instance (before a restart), or agreements is not an admit hook:
    // meter under the agent's bound agreement all the same (admit would use no other).
    const bound = bindingOf(agent);
    if (stateErr !== null) return failWith(stateErr!);
    if (bound == "") return 0;
    id = bound;
  }
  const e = loadEntry(id);
  if (e === null) return stateErr === null ? 0 : failWith(stateErr!);
  const start = time - time % e.ag.windowMs;
  const w = windowOf(id, start);
  if (w === null) return failWith(stateErr!);
  if (reservedHere && w.reserved > 0) w.reserved--;
  if (denied) return 0;
  let err = record(w, cost, bytesIn, bytesOut);
  if (err === null && !windowsBill(e.ag.windowMs)) {
    const h = hourOf(id, time - time % LEDGER_MS);
    if (h === null) return failWith(stateErr!);
    err = record(h, cost, bytesIn, bytesOut);
  }
  if (err !== null) return failWith(err);
  return 0;
}

/** A time (ms since the epoch) as people read it in a denial: ISO 8601 in UTC. */
function isoTime(ms: u64): string {
  return new Date(<i64>ms).toISOString();
}
