/**
 * The lifecycle state machine of a loaded module (plugin or agent), with the restart policy.
 * verified → instantiated → initialized → running → stopping → stopped, plus `failed` from
 * anywhere live and `paused` for agents. Every transition is an event.
 */
import { UsageError } from '@mcp0/abi';

/** A lifecycle state. */
export type LifecycleState = 'verified' | 'instantiated' | 'initialized' | 'running' | 'paused' | 'stopping' | 'stopped' | 'failed';

const ALLOWED: Record<LifecycleState, readonly LifecycleState[]> = {
  verified: ['instantiated', 'failed', 'stopped'],
  instantiated: ['initialized', 'failed', 'stopping'],
  initialized: ['running', 'failed', 'stopping'],
  running: ['paused', 'stopping', 'failed', 'instantiated'],
  paused: ['running', 'stopping', 'failed'],
  failed: ['instantiated', 'stopping', 'stopped'],
  stopping: ['stopped', 'failed'],
  stopped: [],
};

/** The event emitted on every transition. */
export interface TransitionEvent {
  module: string;
  from: LifecycleState;
  to: LifecycleState;
  reason?: string;
  at: number;
}

/** True when `from → to` is a legal transition. */
export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return ALLOWED[from].includes(to);
}

/** Holds one module's state and refuses illegal transitions with `ESTATE`. */
export class Lifecycle {
  #state: LifecycleState = 'verified';
  readonly #module: string;
  readonly #emit: (e: TransitionEvent) => void;

  constructor(moduleName: string, emit: (e: TransitionEvent) => void) {
    this.#module = moduleName;
    this.#emit = emit;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  to(next: LifecycleState, reason?: string): void {
    const from = this.#state;
    if (!canTransition(from, next)) {
      throw new UsageError('ESTATE', `${this.#module}: cannot go from ${from} to ${next}`, { module: this.#module, from, to: next });
    }
    this.#state = next;
    this.#emit({ module: this.#module, from, to: next, ...(reason === undefined ? {} : { reason }), at: Date.now() });
  }
}

/** How a failed module is brought back: a bounded number of restarts in a window, with backoff. */
export interface RestartPolicy {
  /**
   * Restarts inside `windowMs` that back off from `backoffMs`; past that the module keeps being
   * retried at `maxBackoffMs`, never left failed for good (a shared plugin that callers made fail
   * must come back once they stop).
   */
  maxRestarts: number;
  windowMs: number;
  /** First backoff; doubles on each restart inside the window, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Consecutive failed calls (traps, timeouts) that count as the module failing. */
  failureThreshold: number;
}

/** The default restart policy. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, windowMs: 60_000, backoffMs: 50, maxBackoffMs: 5_000, failureThreshold: 5 };

/**
 * Tracks restarts against a policy and says how long to wait before the next one.
 * @example
 * const budget = new RestartBudget(DEFAULT_RESTART_POLICY)
 * setTimeout(restart, budget.next())
 */
export class RestartBudget {
  readonly #policy: RestartPolicy;
  #times: number[] = [];

  constructor(policy: RestartPolicy) {
    this.#policy = policy;
  }

  /** The delay before the next restart: doubling inside the window, `maxBackoffMs` once the budget is spent. */
  next(now = Date.now()): number {
    this.#times = this.#times.filter((t) => now - t < this.#policy.windowMs);
    if (this.spent) return this.#policy.maxBackoffMs;
    const delay = Math.min(this.#policy.maxBackoffMs, this.#policy.backoffMs * 2 ** this.#times.length);
    this.#times.push(now);
    return delay;
  }

  /** True when the window's restarts are used up (as of the last `next`). */
  get spent(): boolean {
    return this.#times.length >= this.#policy.maxRestarts;
  }
}
