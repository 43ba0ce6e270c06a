/**
 * The replay check: a (caller, nonce) pair seen within the replay window is refused. Seen nonces
 * live in kv, not in the instance's memory, so a restarted or replaced instance over the same kv
 * refuses them too, and memory holds none of them whatever the traffic:
 *
 *   rpc/n/<caller>/<nonce hex>          → CBOR uint: the `time` of the envelope that carried it
 *   rpc/t/<time, 16 digits>/<caller>/<nonce hex> → empty: the same pair, in time order, for pruning
 *
 * A pair is seen while `time + replayWindowMs` has not passed: after that the envelope is stale
 * (check 3 refuses it before this one), so its record can go. Every recorded call prunes up to
 * PRUNE_BATCH of the oldest records whose window has passed, so kv holds about one record pair per
 * call recorded in the last window, and pruning keeps up with any rate of calls.
 */
import { Err, Value, decode, encode, kvDelete, kvGet, kvPut, kvScan } from "@mcp0/abi/as";
import { replayWindowMs } from "./config";
import { hex } from "./envelope";

/** The most expired records one call removes: more than the one it adds, so pruning catches up. */
export const PRUNE_BATCH: u32 = 8;
const NONCES = "rpc/n/";
const TIMES = "rpc/t/";
/** The width of a time in an index key: 2^53 − 1 has 16 digits, so key order is time order. */
const TIME_DIGITS: i32 = 16;

function nonceKey(caller: string, nonce: Uint8Array): string {
  return NONCES + caller + "/" + hex(nonce);
}

function padded(time: u64): string {
  const s = time.toString();
  return s.length >= TIME_DIGITS ? s : "0".repeat(TIME_DIGITS - s.length) + s;
}

/** The outcome of a lookup: the time the pair was last seen at, or -1; or the store's error. */
export class Seen {
  constructor(public time: i64, public error: Err | null) {}
}

/** When the pair was seen, if its record is still within the window at `now`; -1 when not. */
export function seen(caller: string, nonce: Uint8Array, now: u64): Seen {
  const key = nonceKey(caller, nonce);
  const r = kvGet(key);
  if (!r.ok) return new Seen(-1, r.error);
  if (r.value === null) return new Seen(-1, null);
  const d = decode(r.value!);
  if (!d.ok || !d.value.isUint()) {
    // Only this plugin writes here: a record it cannot read means the store was damaged.
    return new Seen(-1, new Err("ESTATE", "mcp0.rpc " + key + ": expected the time the nonce was seen at (a CBOR uint), found an unreadable record"));
  }
  const time = d.value.asUint();
  return new Seen(time + replayWindowMs >= now ? <i64>time : -1, null);
}

/** Record the pair as seen in an envelope signed at `time`: the index first, so no record is ever left unindexed. */
export function record(caller: string, nonce: Uint8Array, time: u64): Err | null {
  const id = caller + "/" + hex(nonce);
  const e = kvPut(TIMES + padded(time) + "/" + id, new Uint8Array(0));
  if (e !== null) return e;
  return kvPut(NONCES + id, encode(Value.uint(time)));
}

/**
 * Remove up to PRUNE_BATCH of the oldest records whose window has passed at `now`, stopping at the
 * first still in it. A nonce record is removed only when it still holds the index entry's time: the
 * pair may have been seen again since, under a newer index entry.
 */
export function prune(now: u64): Err | null {
  const r = kvScan(TIMES, PRUNE_BATCH, null);
  if (!r.ok) return r.error;
  for (let i = 0, n = r.value.length; i < n; i++) {
    const key = unchecked(r.value[i]).key;
    const rest = key.slice(TIMES.length);
    const time = rest.length > TIME_DIGITS ? U64.parseInt(rest.slice(0, TIME_DIGITS), 10) : 0;
    if (time + replayWindowMs >= now) return null;
    const id = rest.length > TIME_DIGITS + 1 ? rest.slice(TIME_DIGITS + 1) : "";
    if (id.length > 0) {
      const held = kvGet(NONCES + id);
      if (!held.ok) return held.error;
      if (held.value !== null) {
        const d = decode(held.value!);
        if (d.ok && d.value.isUint() && d.value.asUint() == time) {
          const gone = kvDelete(NONCES + id);
          if (!gone.ok) return gone.error;
        }
      }
    }
    const dropped = kvDelete(key);
    if (!dropped.ok) return dropped.error;
  }
  return null;
}
