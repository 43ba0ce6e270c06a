/**
 * The host memory one guest call may make the host allocate: blocks the guest allocates through
 * `extism:host/env.alloc` and blocks host functions store for it (responses). One budget, used by
 * both tiers; it is also open during instantiation, so a start function is counted like a call.
 * (This folder runs in guest threads too, which load no @mcp0/abi: only its types are imported.)
 */
import type { ErrorCode } from '@mcp0/abi';

/**
 * A limit of the Extism layer that a call ran into: plain data, so it crosses threads; the
 * instance makes it a CallError with the same code, message and details.
 * @example
 * throw new LimitError('EMEMORY', 'allocated more than 1024 bytes of host memory in one call', { limit: 1024 })
 */
export class LimitError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LimitError';
  }
}

/**
 * @example
 * const budget = new AllocationBudget(64 << 20)
 * budget.begin()
 * budget.charge(1024) // throws a LimitError EMEMORY once the call has had more than 64 MiB
 */
export class AllocationBudget {
  #used = 0;
  /** The charge that was refused in this call, if one was: it stays refused until `begin`. */
  exceeded: LimitError | undefined;

  constructor(readonly limit: number) {}

  /** A new call (or instantiation): nothing charged yet. */
  begin(): void {
    this.#used = 0;
    this.exceeded = undefined;
  }

  /** Charge `n` bytes. Anything that is not a byte count (NaN, negative, over 2^53) is refused, not added. */
  charge(n: number): void {
    if (this.exceeded || !Number.isSafeInteger(n) || n < 0 || this.#used + n > this.limit) {
      this.exceeded ??= new LimitError('EMEMORY', `allocated more than ${this.limit} bytes of host memory in one call`, {
        limit: this.limit,
        used: this.#used,
        requested: n,
      });
      throw this.exceeded;
    }
    this.#used += n;
  }
}
