/**
 * The operator's configuration of mcp0.rpc, given to `mcp0_init` as a CBOR map (the
 * distribution's `config` of the plugin; abi/ROLES.md, `mcp0.rpc@1`): who may call the node's own
 * methods, how far envelope times may stray from the clock, how long a deadline may be, and the
 * token buckets. A config it cannot read fails `mcp0_init` with EINPUT naming the member, so the
 * plugin does not load: a typo never means "no limit" or "anyone" silently.
 */
import { CborMap, CborText, Err, KEY_ID_EXPECTED, Kind, Value, decode, isKeyId } from "@mcp0/abi/as";

/** At most this many operators: the list is searched on every call to the node itself. */
export const MAX_OPERATORS: i32 = 64;
/** At most this many per-method rates: they are looked up on every call. */
export const MAX_METHODS: i32 = 256;
/** The longest replay window, deadline and skew: a day. Seen nonces are kept in kv for the window. */
export const MAX_WINDOW_MS: u64 = 86_400_000;
/** The largest perSecond and burst: enough for any node, small enough that no sum can overflow. */
export const MAX_RATE: u64 = 1_000_000;

/** A token bucket's parameters: refilled at `perSecond` tokens a second, holding at most `burst`. */
export class Rate {
  constructor(public perSecond: u64, public burst: u64) {}
}

/** The key ids that may call the node itself (target ""). */
export let operators: Array<string> = new Array<string>();
/** How far behind the clock an envelope's time may be, and how long its nonce is remembered. */
export let replayWindowMs: u64 = 300_000;
/** How far ahead of the clock an envelope's time may be. */
export let skewMs: u64 = 30_000;
/** How far after its time an envelope's deadline may be. */
export let maxDeadlineMs: u64 = 300_000;
/** The bucket of every method not in `methods`. */
export let defaultRate: Rate = new Rate(50, 100);
/** Per method name, the bucket that replaces `defaultRate` for it. */
export let methodRates: Map<string, Rate> = new Map<string, Rate>();
/** Why the last config was refused, or null. */
export let configError: Err | null = null;

/** Text for a message: quoted, and cut so a hostile value cannot make the message huge. */
export function shown(s: string): string {
  return '"' + (s.length > 64 ? s.slice(0, 64) + "…" : s) + '"';
}

/** A value as a message shows what came: its text quoted, its integer, or its kind. */
export function described(v: Value): string {
  const s = v.asText();
  if (s !== null) return shown(s) + (s.startsWith("$") ? " (a placeholder that only mcp0 dist build replaces)" : "");
  if (v.kind == Kind.Uint) return v.asUint().toString();
  if (v.kind == Kind.Negint && v.isInt()) return v.asInt().toString();
  if (v.kind == Kind.Float) return v.asFloat().toString();
  return v.typeName;
}

/** A refused config: the message names the plugin, since a failed load reports it as it is. */
function bad(member: string, message: string): Err {
  return new Err("EINPUT", "mcp0.rpc config" + member + ": " + message);
}

/** The config being read: the first problem wins, and the values read so far. */
class Reader {
  error: Err | null = null;
  operators: Array<string> = new Array<string>();
  replayWindowMs: u64 = 300_000;
  skewMs: u64 = 30_000;
  maxDeadlineMs: u64 = 300_000;
  rate: Rate = new Rate(50, 100);
  methods: Map<string, Rate> = new Map<string, Rate>();

  problem(member: string, message: string): void {
    if (this.error === null) this.error = bad(member, message);
  }

  /** The names of `m`'s members must be among `allowed` (a misspelt one would configure nothing). */
  only(m: CborMap, where: string, allowed: Array<string>): void {
    for (let i = 0, n = m.entries.length; i < n; i++) {
      const k = unchecked(m.entries[i]).key;
      const name = k.kind == Kind.Text ? changetype<CborText>(k).value : null;
      if (name === null || !allowed.includes(name!)) {
        this.problem(where, "expected only the members " + allowed.join(", ") + ", got " + (name === null ? "a " + k.typeName + " key" : shown(name!)));
        return;
      }
    }
  }

  /** An integer member from `low` to `high`, or `dflt` when absent. */
  integer(m: CborMap, key: string, where: string, low: u64, high: u64, dflt: u64): u64 {
    const v = m.get(key);
    if (v === null) return dflt;
    if (v.kind != Kind.Uint || v.asUint() < low || v.asUint() > high) {
      this.problem(where + "." + key, "expected an integer from " + low.toString() + " to " + high.toString() + ", got " + described(v));
      return dflt;
    }
    return v.asUint();
  }

  /** A `{perSecond, burst}` map. */
  rateOf(v: Value, where: string, dflt: Rate): Rate {
    const m = v.asMap();
    if (m === null) {
      this.problem(where, "expected {perSecond, burst}, got " + v.typeName);
      return dflt;
    }
    const members = ["perSecond", "burst"];
    this.only(m, where, members);
    for (let i = 0; i < 2; i++) {
      if (!m.has(members[i])) this.problem(where + "." + members[i], "is missing, expected an integer from 1 to " + MAX_RATE.toString());
    }
    return new Rate(this.integer(m, "perSecond", where, 1, MAX_RATE, dflt.perSecond), this.integer(m, "burst", where, 1, MAX_RATE, dflt.burst));
  }

  read(input: Uint8Array): void {
    const d = decode(input);
    if (!d.ok) { this.problem("", d.error!.message); return; }
    const m = d.value.asMap();
    if (m === null) { this.problem("", "expected a map, got " + d.value.typeName); return; }
    this.only(m, "", ["operators", "replayWindowMs", "skewMs", "maxDeadlineMs", "rate", "methods"]);

    const ops = m.get("operators");
    if (ops !== null) {
      const a = ops.asArray();
      if (a === null) this.problem(".operators", "expected a list of key ids, got " + ops.typeName);
      else if (a.length > MAX_OPERATORS) this.problem(".operators", "expected at most " + MAX_OPERATORS.toString() + " key ids, got " + a.length.toString());
      else {
        for (let i = 0, n = a.length; i < n; i++) {
          const item = unchecked(a.items[i]);
          const s = item.asText();
          if (s === null || !isKeyId(s)) { this.problem(".operators/" + i.toString(), KEY_ID_EXPECTED + ", got " + described(item)); break; }
          this.operators.push(s);
        }
      }
    }
    this.replayWindowMs = this.integer(m, "replayWindowMs", "", 1, MAX_WINDOW_MS, 300_000);
    this.skewMs = this.integer(m, "skewMs", "", 0, MAX_WINDOW_MS, 30_000);
    this.maxDeadlineMs = this.integer(m, "maxDeadlineMs", "", 1, MAX_WINDOW_MS, 300_000);
    const rate = m.get("rate");
    if (rate !== null) this.rate = this.rateOf(rate, ".rate", this.rate);
    const methods = m.get("methods");
    if (methods !== null) {
      const mm = methods.asMap();
      if (mm === null) this.problem(".methods", "expected a map of method name to {perSecond, burst}, got " + methods.typeName);
      else if (mm.size > MAX_METHODS) this.problem(".methods", "expected at most " + MAX_METHODS.toString() + " methods, got " + mm.size.toString());
      else {
        for (let i = 0, n = mm.entries.length; i < n; i++) {
          const e = unchecked(mm.entries[i]);
          const name = e.key.asText();
          if (name === null) { this.problem(".methods", "expected method names as text, got a " + e.key.typeName + " key"); break; }
          this.methods.set(name!, this.rateOf(e.value, ".methods." + shown(name!), this.rate));
        }
      }
    }
  }
}

/**
 * Take a config map (the input of mcp0_init); null when it is good. On a refusal the previous
 * values are dropped for the defaults with no operator, and `configError` says why (verify then
 * refuses every call with ESTATE, should the host run it anyway).
 */
export function configure(input: Uint8Array): Err | null {
  const r = new Reader();
  r.read(input);
  const err = r.error;
  if (err !== null) {
    operators = new Array<string>();
    methodRates = new Map<string, Rate>();
    configError = err;
    return err;
  }
  operators = r.operators;
  replayWindowMs = r.replayWindowMs;
  skewMs = r.skewMs;
  maxDeadlineMs = r.maxDeadlineMs;
  defaultRate = r.rate;
  methodRates = r.methods;
  configError = null;
  return null;
}

/** The bucket parameters of `method`. */
export function rateFor(method: string): Rate {
  return methodRates.has(method) ? methodRates.get(method) : defaultRate;
}

/** The operators as a message lists them. */
export function operatorList(): string {
  return "[" + operators.join(", ") + "]";
}
