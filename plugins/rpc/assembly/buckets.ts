/**
 * The rate check: one token bucket per (caller, method), in integer arithmetic so its answers are
 * exact. A bucket holds milli-tokens: `burst × 1000` when full, a call takes 1000, and it refills
 * by `perSecond` milli-tokens every millisecond (perSecond tokens a second), never past full. A call
 * that finds under 1000 is refused with the exact wait until there are 1000:
 * ⌈(1000 − level) / perSecond⌉ ms.
 *
 * Buckets live in the instance's memory, not in kv (a write per call would cost more than the
 * check): a restart or a replaced instance starts every bucket full again. A full bucket is the
 * same as no bucket, so full ones are dropped when the table fills; at most MAX_BUCKETS are kept,
 * and when that many are all in use a new (caller, method) is refused like an empty bucket, with
 * the wait until the first of them is full again.
 */
import { Rate } from "./config";

/** Milli-tokens per token: a call's price. */
export const MILLI: u64 = 1000;
/** The most buckets kept at once. */
export const MAX_BUCKETS: i32 = 4096;

class Bucket {
  constructor(public level: u64, public at: u64, public rate: Rate) {}

  get capacity(): u64 { return this.rate.burst * MILLI; }

  /** The level at `now`, after refilling (a clock that went back refills nothing). */
  refill(now: u64): void {
    if (now <= this.at) return;
    const room = this.capacity - this.level;
    const elapsed = now - this.at;
    const ps = this.rate.perSecond;
    // Comparing before multiplying: elapsed × perSecond could overflow for a long idle bucket.
    this.level = elapsed >= (room + ps - 1) / ps ? this.capacity : this.level + elapsed * ps;
    this.at = now;
  }

  /** Milliseconds until the bucket is full, from its last refill. */
  untilFull(): u64 {
    const ps = this.rate.perSecond;
    return (this.capacity - this.level + ps - 1) / ps;
  }
}

const buckets = new Map<string, Bucket>();

/** What a take gave: the call may run with `tokens` whole calls left, or wait `retryAfterMs`. */
export class Take {
  constructor(public ok: bool, public tokens: u64, public retryAfterMs: u64, public tableFull: bool) {}
}

/** Drop every bucket that is full at `now`; the least wait until one more would be, or u64.MAX_VALUE. */
function sweep(now: u64): u64 {
  const keys = buckets.keys();
  let soonest = u64.MAX_VALUE;
  for (let i = 0, n = keys.length; i < n; i++) {
    const k = unchecked(keys[i]);
    const b = buckets.get(k);
    b.refill(now);
    if (b.level >= b.capacity) buckets.delete(k);
    else soonest = min(soonest, b.untilFull());
  }
  return soonest;
}

/**
 * Take one token for `key` (the caller and method) at `now`, from a bucket with `rate`.
 */
export function take(key: string, rate: Rate, now: u64): Take {
  let b: Bucket;
  if (buckets.has(key)) {
    b = buckets.get(key);
    b.refill(now);
  } else {
    if (buckets.size >= MAX_BUCKETS) {
      const wait = sweep(now);
      if (buckets.size >= MAX_BUCKETS) return new Take(false, 0, max<u64>(wait, 1), true);
    }
    b = new Bucket(rate.burst * MILLI, now, rate);
    buckets.set(key, b);
  }
  if (b.level >= MILLI) {
    b.level -= MILLI;
    return new Take(true, b.level / MILLI, 0, false);
  }
  const ps = b.rate.perSecond;
  return new Take(false, b.level / MILLI, (MILLI - b.level + ps - 1) / ps, false);
}
